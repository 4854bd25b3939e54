using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Archiver.Filtering;
using Dedup.Archiver.Trees;
using Dedup.Cli.Cli;
using Dedup.Format;
using Dedup.Repository.Snapshots;

namespace Dedup.Cli.Commands;

/// <summary>'find': which snapshots hold a file of a given name, or a given blob.</summary>
public sealed class FindCommand : Verb
{
    private readonly Argument<string[]> _patterns;
    private readonly Option<bool> _path = Opt.Flag("full-path", "match the patterns against whole paths (/home/*/Documents, **/cache) instead of names");
    private readonly Option<string[]> _snapshots = Opt.List("snapshot", "ID", "search only this snapshot (repeatable): " + SnapshotSelection.ArgumentHelp, 's');
    private readonly Option<string[]> _blobs = Opt.List("blob", "ID", "find the files whose content includes this data blob (repeatable)");
    private readonly Option<string[]> _trees = Opt.List("tree", "ID", "find the directories stored in this tree blob (repeatable)");
    private readonly SnapshotSelection _selection = new();

    public FindCommand() : base("find", "Find files and directories by name across all snapshots, and say which snapshots hold them.",
        """
        PATTERN is a glob on names: '*.pdf', 'report-202?.odt', '[Rr]eadme*'. With --full-path the patterns match whole
        paths inside the snapshot, as --exclude patterns do ('/home/*/Documents', 'cache/**'); a matching directory is
        listed once, not with everything below it. Several patterns find what any of them matches.
        Every match is listed once with the number of snapshots that hold it and the first and last of them (by the
        time the storage recorded). Directories shared by several snapshots are searched once, so searching many
        snapshots of one host costs little more than searching one.
        With --json, prints one JSON object per match (JSON Lines), with the IDs of all the snapshots that hold it,
        after status lines ("message_type": "status": snapshots searched, directories read and reused, matches).
        Examples: dedup find '*.kdbx'        dedup find --host laptop --full-path '/home/*/.ssh'
        """)
    {
        _patterns = Arg<string[]>("PATTERN", "a glob on names (or paths with --full-path)", ArgumentArity.ZeroOrMore);
        Add(_path);
        Add(_snapshots);
        Add(_blobs);
        Add(_trees);
        foreach (var o in _selection.All) Add(o);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var patterns = ctx.Get(_patterns) ?? [];
        var blobs = ParseIds(ctx.Get(_blobs), "--blob");
        var trees = ParseIds(ctx.Get(_trees), "--tree");
        if (patterns.Length == 0 && blobs.Count == 0 && trees.Count == 0)
            throw new UsageException("give a PATTERN to look for (e.g. dedup find '*.pdf'), or --blob/--tree ID");
        bool byPath = ctx.Get(_path);
        PathFilter filter;
        try
        {
            filter = new PathFilter(patterns);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        if (!byPath && patterns.FirstOrDefault(p => p.Trim('/').Contains('/')) is { } withSlash)
            throw new UsageException($"'{withSlash}' has a '/', but names never do: add --full-path to match it against whole paths");

        bool Matches(string path, TreeNode node)
        {
            if (blobs.Count > 0 && node.Type == NodeType.File && node.Content.Any(blobs.Contains)) return true;
            if (trees.Count > 0 && node.Type == NodeType.Directory && node.Content.Any(trees.Contains)) return true;
            if (filter.IsEmpty) return false;
            if (!byPath) return filter.Matches("/" + node.Name);
            // A pattern that matches a directory matches all below it: report the directory only.
            int parent = path.LastIndexOf('/');
            return filter.Matches(path) && (parent == 0 || !filter.Matches(path[..parent]));
        }

        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "search snapshots").ConfigureAwait(false);
        var selection = _selection.Filter(ctx);
        var snapshots = await SelectAsync(repo, ctx.Get(_snapshots) ?? [], selection, ctx).ConfigureAwait(false);
        var search = new SnapshotSearch(repo, Matches, byPath);
        var found = new SortedDictionary<string, Found>(StringComparer.Ordinal);
        long searched = 0, matched = 0;
        using (ctx.Progress(t => new FindStatus(t.TotalSeconds, Volatile.Read(ref searched), snapshots.Count, search.DirectoriesRead, search.DirectoriesReused,
                   Volatile.Read(ref matched)), CliJson.Default.FindStatus,
                   s => $"{s.SnapshotsDone}/{s.SnapshotsTotal} snapshots, {s.DirectoriesRead} directories read, {s.DirectoriesReused} reused, "
                        + $"{s.Matches} match{(s.Matches == 1 ? "" : "es")}, {Text.Duration(TimeSpan.FromSeconds(s.SecondsElapsed))}"))
        {
            foreach (var s in snapshots)
            {
                foreach (var hit in await search.SearchAsync(s.Domain, SnapshotWalker.RootTree(s.Info), ctx.Cancellation).ConfigureAwait(false))
                {
                    if (!found.TryGetValue(hit.RelativePath, out var f)) found[hit.RelativePath] = f = new Found(s);
                    f.Seen(s, hit.Node);
                }
                Volatile.Write(ref matched, found.Count);
                Interlocked.Increment(ref searched);
            }
        }

        foreach (var (path, f) in found)
            if (ctx.Json)
                ctx.WriteJson(new FindMatch(path, Text.TypeName(f.Node!.Type), f.Node.Size, f.Ids.Count, f.First.Id.ToString(), Text.Iso(f.First.StoredAt),
                    f.Last.Id.ToString(), Text.Iso(f.Last.StoredAt), f.Ids), CliJson.Default.FindMatch);
        if (ctx.Json) return ExitCodes.Ok;
        var rows = new List<string[]> { new[] { "first seen", "", "last seen", "", "count", "size", "path" } };
        foreach (var (path, f) in found)
            rows.Add([Text.LocalTime(f.First.StoredAt), f.First.Id.ToShortString(), Text.LocalTime(f.Last.StoredAt), f.Last.Id.ToShortString(),
                $"{f.Ids.Count}", f.Node!.Type == NodeType.File ? Text.Bytes(f.Node.Size) : Text.TypeName(f.Node.Type),
                DiffCommand.Escape(path) + (f.Node.Type == NodeType.Directory ? "/" : "")]);
        if (found.Count > 0)
            foreach (var line in Text.Table(rows)) ctx.Out.WriteLine(line);
        ctx.Out.WriteLine($"{found.Count} match{(found.Count == 1 ? "" : "es")} in {snapshots.Count} snapshot{(snapshots.Count == 1 ? "" : "s")} " +
                          $"({search.DirectoriesRead} directories read, {search.DirectoriesReused} reused)");
        return ExitCodes.Ok;
    }

    /// <summary>The snapshots named by --snapshot, or every one the selection admits, oldest first by storage time.</summary>
    internal static async Task<List<LoadedSnapshot>> SelectAsync(Dedup.Repository.Repository repo, string[] named, SnapshotFilter filter, CliContext ctx)
    {
        List<LoadedSnapshot> list;
        if (named.Length > 0)
        {
            list = [];
            foreach (var n in named)
            {
                var s = await repo.Snapshots.ResolveAsync(n, filter, ctx.Cancellation).ConfigureAwait(false);
                if (list.All(x => x.Id != s.Id)) list.Add(s);
            }
        }
        else
            list = (await repo.Snapshots.LoadAllAsync((id, e) => ctx.Warn($"skipping damaged snapshot {id.ToShortString()}: {e.Message}"), ctx.Cancellation)
                .ConfigureAwait(false)).Where(filter.Admits).ToList();
        return list.OrderBy(s => s.StoredAt).ThenBy(s => s.Id).ToList();
    }

    private static HashSet<ObjectId> ParseIds(string[]? ids, string option)
    {
        var set = new HashSet<ObjectId>();
        foreach (var id in ids ?? [])
        {
            if (id.Length != ObjectId.Size * 2 || !id.All(Uri.IsHexDigit))
                throw new UsageException($"{option} takes a full blob ID ({ObjectId.Size * 2} hex digits, as 'dedup cat' and 'check' print them), not '{id}'");
            set.Add(ObjectId.Parse(id.ToLowerInvariant()));
        }
        return set;
    }

    private sealed class Found(LoadedSnapshot first)
    {
        public LoadedSnapshot First { get; } = first;
        public LoadedSnapshot Last { get; private set; } = first;
        public TreeNode? Node { get; private set; }
        public List<string> Ids { get; } = [];

        public void Seen(LoadedSnapshot s, TreeNode node)
        {
            // One snapshot may list a path once only; the same subtree under two paths gives two paths.
            if (Ids.Count > 0 && Ids[^1] == s.Id.ToString()) return;
            Ids.Add(s.Id.ToString());
            Last = s;
            Node = node;
        }
    }
}

/// <summary>A status line of 'find --json', before the matches: snapshots searched of all selected, directories read and reused, distinct paths matched.</summary>
public sealed record FindStatus(double SecondsElapsed, long SnapshotsDone, long SnapshotsTotal, long DirectoriesRead, long DirectoriesReused, long Matches)
{
    [JsonPropertyOrder(-1)] public string MessageType => "status";
}

/// <summary>One line of 'find --json': a path, what it is in the last snapshot that holds it, and every snapshot that does.</summary>
public sealed record FindMatch(
    string Path, string Type, long Size, int Count, string FirstSnapshot, string FirstSeen, string LastSnapshot, string LastSeen, IReadOnlyList<string> Snapshots);
