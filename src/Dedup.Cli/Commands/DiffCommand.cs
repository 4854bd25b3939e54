using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Archiver.Trees;
using Dedup.Cli.Cli;
using Dedup.Format;
using Dedup.Repository.Snapshots;

namespace Dedup.Cli.Commands;

/// <summary>'diff': what changed between two snapshots, path by path, without restoring either.</summary>
public sealed class DiffCommand : Verb
{
    private readonly Argument<string> _old;
    private readonly Argument<string> _new;
    private readonly Option<bool> _metadata = Opt.Flag("no-metadata", "leave out entries whose only change is metadata (U)");
    private readonly Option<string> _live = Opt.Text("live", "PATH", "compare OLD's copy of this directory with the directory as it is now, instead of with NEW");
    private readonly SnapshotSelection _selection = new();

    public DiffCommand() : base("diff", "Show what changed between two snapshots: added, removed, modified paths and metadata changes.",
        """
        Each line starts with what happened to the path:
          +  added                 -  removed
          M  content changed       T  type changed (file became a directory, say)
          U  only metadata changed (mode, mtime, owner, extended attributes)
        Directories end in '/'. A summary follows: files and directories added, removed and changed, and the bytes of
        the files added and removed. Unchanged directories are skipped without reading them, so comparing two
        snapshots of one host costs about the size of the change. Snapshots of different hosts (other dedup domains)
        are compared by size and mtime, as their blob IDs cannot be compared.
        With --live PATH, compares the snapshot's copy of the directory PATH with the live directory ("what changed
        since last night"): files by size and mtime, as backup's change detection does, without reading them.
        With --json, prints one JSON object per changed path (JSON Lines), then the summary; status lines
        ("message_type": "status": directories read, changes listed) come among them, one at the start and one at the end.
        Examples: dedup diff latest~1 latest        dedup diff latest --live /home/ann
        """)
    {
        _old = Arg<string>("OLD", "the snapshot to compare from: " + SnapshotSelection.ArgumentHelp, ArgumentArity.ExactlyOne);
        _new = Arg<string>("NEW", "the snapshot to compare to: " + SnapshotSelection.ArgumentHelp, ArgumentArity.ZeroOrOne);
        Add(_metadata);
        Add(_live);
        NotTogether(_live, _new, "give either a NEW snapshot or --live PATH, not both");
        foreach (var o in _selection.All) Add(o);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "compare snapshots").ConfigureAwait(false);
        var filter = _selection.Filter(ctx);
        if (ctx.Get(_new) is null && ctx.Get(_live) is null) throw new UsageException("give the NEW snapshot to compare with, or --live PATH");
        var a = await repo.Snapshots.ResolveAsync(ctx.Get(_old)!, filter, ctx.Cancellation).ConfigureAwait(false);
        bool skipMetadata = ctx.Get(_metadata);
        var summary = new DiffSummary();
        long read = 0;
        TreeDiff.DirectoryLoader Loader(LoadedSnapshot s) => (_, ids, ct) =>
        {
            Interlocked.Increment(ref read);
            return SnapshotWalker.LoadDirectoryAsync(repo, s.Domain, ids, ct);
        };
        IAsyncEnumerable<DiffEntry> changes;
        string newName;
        if (ctx.Get(_live) is { } live)
        {
            var path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(live));
            if (!Directory.Exists(path)) throw new UsageException($"--live {live}: there is no directory at {path}");
            var node = await SnapshotWalker.FindAsync(repo, a, path, ctx.Cancellation).ConfigureAwait(false);
            if (node is not { Type: NodeType.Directory })
                throw new UsageException($"snapshot {a.Id.ToShortString()} has no directory '{path}'; 'dedup ls {a.Id.ToShortString()}' lists what it has");
            newName = "live:" + path;
            if (!ctx.Json) ctx.Out.WriteLine($"comparing snapshot {a.Id.ToShortString()} with the live directory {path}");
            changes = TreeDiff.CompareAsync(node.Content, Loader(a), [], (p, _, ct) => { Interlocked.Increment(ref read); return LiveTree.LoadAsync(p, [], ct); }, false, ctx.Cancellation, path);
        }
        else
        {
            var b = await repo.Snapshots.ResolveAsync(ctx.Get(_new)!, filter, ctx.Cancellation).ConfigureAwait(false);
            newName = b.Id.ToString();
            if (!ctx.Json) ctx.Out.WriteLine($"comparing snapshot {a.Id.ToShortString()} with {b.Id.ToShortString()}");
            changes = TreeDiff.CompareAsync(SnapshotWalker.RootTree(a.Info), Loader(a), SnapshotWalker.RootTree(b.Info), Loader(b), a.Domain == b.Domain, ctx.Cancellation);
        }
        long listed = 0;
        using (var progress = ctx.Progress(t => new DiffStatus(t.TotalSeconds, Volatile.Read(ref read), Volatile.Read(ref listed)), CliJson.Default.DiffStatus,
                   s => $"{s.DirectoriesRead} directories read, {s.Changes} changes, {Text.Duration(TimeSpan.FromSeconds(s.SecondsElapsed))}"))
        {
            await foreach (var e in changes.ConfigureAwait(false))
            {
                if (skipMetadata && e.Kind == DiffKind.MetadataChanged) continue;
                summary.Count(e);
                progress.Above(() =>
                {
                    if (ctx.Json) ctx.WriteJson(DiffLine.From(e), CliJson.Default.DiffLine);
                    else ctx.Out.WriteLine(Render(e));
                });
                Interlocked.Increment(ref listed);
            }
        }
        var result = summary.Result(a.Id.ToString(), newName, read);
        if (ctx.Json) ctx.WriteJson(result, CliJson.Default.DiffResult);
        else
        {
            ctx.Out.WriteLine();
            foreach (var line in Text.Table([
                         ["", "added", "removed", "changed"],
                         ["files:", $"{result.FilesAdded}", $"{result.FilesRemoved}", $"{result.FilesChanged}"],
                         ["dirs:", $"{result.DirsAdded}", $"{result.DirsRemoved}", $"{result.DirsChanged}"],
                         ["bytes:", Text.Bytes(result.BytesAdded), Text.Bytes(result.BytesRemoved), ""],
                     ]))
                ctx.Out.WriteLine(line);
        }
        return ExitCodes.Ok;
    }

    /// <summary>"M /etc/hosts (1.2 KiB -> 1.3 KiB)": the mark, the path (control characters escaped so one entry is one line), the detail.</summary>
    public static string Render(DiffEntry e)
    {
        var node = e.New ?? e.Old!;
        var path = Escape(e.Path) + (node.Type == NodeType.Directory ? "/" : "");
        string detail = e.Kind switch
        {
            DiffKind.Added or DiffKind.Removed => Describe(node),
            DiffKind.TypeChanged => $"{Text.TypeName(e.Old!.Type)} -> {Text.TypeName(e.New!.Type)}",
            DiffKind.Modified when node.Type == NodeType.File => $"{Text.Bytes(e.Old!.Size)} -> {Text.Bytes(e.New!.Size)}",
            DiffKind.Modified when node.Type == NodeType.Symlink => $"-> {Escape(e.Old!.LinkTarget)} now -> {Escape(e.New!.LinkTarget)}",
            DiffKind.MetadataChanged => string.Join(", ", e.MetadataChanges),
            _ => "",
        };
        return $"{DiffEntry.Symbol(e.Kind)} {path}" + (detail.Length > 0 ? $"  ({detail})" : "");
    }

    private static string Describe(TreeNode n) => n.Type switch
    {
        NodeType.File => Text.Bytes(n.Size),
        NodeType.Symlink => "-> " + Escape(n.LinkTarget),
        _ => "",
    };

    /// <summary>Names may hold any character but '/' and NUL; a newline or tab is shown escaped, a backslash doubled.</summary>
    public static string Escape(string s) =>
        s.AsSpan().IndexOfAny("\\\n\r\t") < 0 && !s.Any(char.IsControl) ? s
            : string.Concat(s.Select(c => c switch
            {
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            }));

    private sealed class DiffSummary
    {
        private long _filesAdded, _filesRemoved, _filesChanged, _dirsAdded, _dirsRemoved, _dirsChanged, _bytesAdded, _bytesRemoved;

        public void Count(DiffEntry e)
        {
            switch (e.Kind)
            {
                case DiffKind.Added:
                    Added(e.New!);
                    break;
                case DiffKind.Removed:
                    Removed(e.Old!);
                    break;
                case DiffKind.TypeChanged:
                    Removed(e.Old!);
                    Added(e.New!);
                    break;
                default:
                    if (e.New!.Type == NodeType.Directory) _dirsChanged++;
                    else _filesChanged++;
                    break;
            }
        }

        private void Added(TreeNode n)
        {
            if (n.Type == NodeType.Directory) _dirsAdded++;
            else _filesAdded++;
            if (n.Type == NodeType.File) _bytesAdded += n.Size;
        }

        private void Removed(TreeNode n)
        {
            if (n.Type == NodeType.Directory) _dirsRemoved++;
            else _filesRemoved++;
            if (n.Type == NodeType.File) _bytesRemoved += n.Size;
        }

        public DiffResult Result(string oldId, string newId, long directoriesRead) =>
            new(oldId, newId, _filesAdded, _filesRemoved, _filesChanged, _dirsAdded, _dirsRemoved, _dirsChanged, _bytesAdded, _bytesRemoved, directoriesRead);
    }
}

/// <summary>One changed path in 'diff --json'. Sizes are the files' sizes on each side (absent where a side has no file).</summary>
public sealed record DiffLine(
    string Change, string Path, string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? OldType,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? OldSize,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? NewSize,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Metadata)
{
    public static DiffLine From(DiffEntry e)
    {
        static long? Size(TreeNode? n) => n is { Type: NodeType.File } ? n.Size : null;
        var changes = e.MetadataChanges;
        return new DiffLine(DiffEntry.Symbol(e.Kind).ToString(), e.Path, Text.TypeName((e.New ?? e.Old!).Type),
            e.Kind == DiffKind.TypeChanged ? Text.TypeName(e.Old!.Type) : null, Size(e.Old), Size(e.New), changes.Count > 0 ? changes : null);
    }
}

/// <summary>A status line of 'diff --json': directory listings read from both sides, and changed paths listed so far.</summary>
public sealed record DiffStatus(double SecondsElapsed, long DirectoriesRead, long Changes)
{
    [JsonPropertyOrder(-1)] public string MessageType => "status";
}

/// <summary>
/// The last line of 'diff --json'. "files" are everything but directories; bytes are of the files added and removed;
/// directories_read counts the directory listings read from both sides (unchanged subtrees are never read);
/// with --live, new_snapshot is "live:" and the directory's path.
/// </summary>
public sealed record DiffResult(
    string OldSnapshot, string NewSnapshot, long FilesAdded, long FilesRemoved, long FilesChanged, long DirsAdded, long DirsRemoved, long DirsChanged,
    long BytesAdded, long BytesRemoved, long DirectoriesRead);
