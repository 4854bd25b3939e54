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
        With --json, prints one JSON object per changed path (JSON Lines), then the summary.
        Example: dedup diff latest~1 latest
        """)
    {
        _old = Arg<string>("OLD", "the snapshot to compare from: " + SnapshotSelection.ArgumentHelp, ArgumentArity.ExactlyOne);
        _new = Arg<string>("NEW", "the snapshot to compare to: " + SnapshotSelection.ArgumentHelp, ArgumentArity.ExactlyOne);
        Add(_metadata);
        foreach (var o in _selection.All) Add(o);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "compare snapshots").ConfigureAwait(false);
        var filter = _selection.Filter(ctx);
        var a = await repo.Snapshots.ResolveAsync(ctx.Get(_old)!, filter, ctx.Cancellation).ConfigureAwait(false);
        var b = await repo.Snapshots.ResolveAsync(ctx.Get(_new)!, filter, ctx.Cancellation).ConfigureAwait(false);
        bool skipMetadata = ctx.Get(_metadata);
        if (!ctx.Json) ctx.Out.WriteLine($"comparing snapshot {a.Id.ToShortString()} with {b.Id.ToShortString()}");
        var summary = new DiffSummary();
        long read = 0;
        TreeDiff.DirectoryLoader Loader(LoadedSnapshot s) => (ids, ct) =>
        {
            read++;
            return SnapshotWalker.LoadDirectoryAsync(repo, s.Domain, ids, ct);
        };
        await foreach (var e in TreeDiff.CompareAsync(SnapshotWalker.RootTree(a.Info), Loader(a), SnapshotWalker.RootTree(b.Info), Loader(b),
                           a.Domain == b.Domain, ctx.Cancellation).ConfigureAwait(false))
        {
            if (skipMetadata && e.Kind == DiffKind.MetadataChanged) continue;
            summary.Count(e);
            if (ctx.Json) ctx.WriteJson(DiffLine.From(e), CliJson.Default.DiffLine);
            else ctx.Out.WriteLine(Render(e));
        }
        var result = summary.Result(a.Id.ToString(), b.Id.ToString(), read);
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

/// <summary>
/// The last line of 'diff --json'. "files" are everything but directories; bytes are of the files added and removed;
/// directories_read counts the directory listings read from both snapshots (unchanged subtrees are never read).
/// </summary>
public sealed record DiffResult(
    string OldSnapshot, string NewSnapshot, long FilesAdded, long FilesRemoved, long FilesChanged, long DirsAdded, long DirsRemoved, long DirsChanged,
    long BytesAdded, long BytesRemoved, long DirectoriesRead);
