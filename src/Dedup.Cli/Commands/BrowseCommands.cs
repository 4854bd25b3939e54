using System.Text.Json.Nodes;
using Dedup.Archiver.Trees;
using Dedup.Cli.Cli;
using Dedup.Format;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

/// <summary>'ls' and 'dump': looking inside a snapshot without restoring it.</summary>
public static class BrowseCommands
{
    public static readonly Verb Ls = new("ls", "SNAPSHOT [PATH]",
        "List the entries of a snapshot, or of one directory in it, recursively.",
        "With --json, prints one JSON object per line (JSON Lines), so huge snapshots stream.",
        [
            new("long", 'l', null, "show mode, owner, size and modification time"),
            new("host", null, "NAME", "with 'latest': the latest snapshot of this host"),
            new("include-untrusted", null, null, "forensics: also consider snapshots whose signer is not trusted"),
        ],
        1, 2, LsAsync);

    public static readonly Verb Dump = new("dump", "SNAPSHOT FILE",
        "Write one file of a snapshot to standard output.",
        "FILE is its path inside the snapshot, as 'dedup ls' shows it. Every block is verified before it is written.",
        [new("host", null, "NAME", "with 'latest': the latest snapshot of this host"),
            new("include-untrusted", null, null, "forensics: also consider snapshots whose signer is not trusted")],
        2, 2, DumpAsync);

    private static async Task<int> LsAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "list snapshot contents").ConfigureAwait(false);
        var snapshot = await repo.Snapshots.ResolveAsync(ctx.Args.Positionals[0], ctx.SnapshotFilter(), ctx.Cancellation).ConfigureAwait(false);
        var start = ctx.Args.Positionals.Count > 1 ? "/" + ctx.Args.Positionals[1].Trim('/') : "/";
        bool longFormat = ctx.Args.Has("long");
        await foreach (var (path, node) in WalkAsync(repo, snapshot, start, ctx.Cancellation).ConfigureAwait(false))
        {
            if (ctx.Json) ctx.WriteJson(ToJson(path, node));
            else if (!longFormat) ctx.Out.WriteLine(path);
            else
            {
                var owner = (node.User.Length > 0 ? node.User : node.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture)) + " "
                            + (node.Group.Length > 0 ? node.Group : node.Gid.ToString(System.Globalization.CultureInfo.InvariantCulture));
                var link = node.Type == NodeType.Symlink ? " -> " + node.LinkTarget : "";
                ctx.Out.WriteLine($"{Text.Mode(node.Type, node.Mode)} {owner,-17} {node.Size,12} {Text.LocalTime(Text.FromUnixNs(node.MTimeNs))} {path}{link}");
            }
        }
        return ExitCodes.Ok;
    }

    /// <summary>The entries at and below <paramref name="start"/>, parents first, reading one directory per level at a time.</summary>
    private static async IAsyncEnumerable<(string Path, TreeNode Node)> WalkAsync(Repo repo, Dedup.Repository.Snapshots.LoadedSnapshot snapshot, string start,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        IReadOnlyList<ObjectId> tree = SnapshotWalker.RootTree(snapshot.Info);
        var prefix = "";
        if (start != "/")
        {
            var node = await SnapshotWalker.FindAsync(repo, snapshot, start, ct).ConfigureAwait(false)
                ?? throw new UsageException($"there is no '{start}' in snapshot {snapshot.Info.Time:yyyy-MM-dd HH:mm}; 'dedup ls SNAPSHOT' lists what is there");
            yield return (start, node);
            if (node.Type != NodeType.Directory) yield break;
            tree = node.Content;
            prefix = start;
        }
        var stack = new Stack<(string Dir, IEnumerator<TreeNode> Children)>();
        stack.Push((prefix, (await SnapshotWalker.LoadDirectoryAsync(repo, snapshot.Domain, tree, ct).ConfigureAwait(false)).GetEnumerator()));
        while (stack.Count > 0)
        {
            var (dir, children) = stack.Peek();
            if (!children.MoveNext())
            {
                stack.Pop();
                continue;
            }
            var child = children.Current;
            var path = dir + "/" + child.Name;
            yield return (path, child);
            if (child.Type == NodeType.Directory && child.Content.Count > 0)
            {
                if (stack.Count >= Limits.MaxTreeDepth) throw new CorruptObjectException(path, $"directories nest deeper than {Limits.MaxTreeDepth} levels");
                stack.Push((path, (await SnapshotWalker.LoadDirectoryAsync(repo, snapshot.Domain, child.Content, ct).ConfigureAwait(false)).GetEnumerator()));
            }
        }
    }

    public static JsonObject ToJson(string path, TreeNode n)
    {
        var o = new JsonObject
        {
            ["path"] = path,
            ["name"] = n.Name,
            ["type"] = Text.TypeName(n.Type),
            ["mode"] = n.Mode,
            ["permissions"] = Text.Mode(n.Type, n.Mode),
            ["uid"] = n.Uid, ["gid"] = n.Gid, ["user"] = n.User, ["group"] = n.Group,
            ["size"] = n.Size,
            ["mtime"] = Text.Iso(Text.FromUnixNs(n.MTimeNs)),
            ["ctime"] = Text.Iso(Text.FromUnixNs(n.CTimeNs)),
            ["inode"] = n.Inode, ["device"] = n.Device,
        };
        if (n.Type == NodeType.Symlink) o["link_target"] = n.LinkTarget;
        if (n.Type is NodeType.BlockDevice or NodeType.CharDevice) o["rdev"] = n.Rdev;
        if (n.Type == NodeType.File) o["content"] = new JsonArray(n.Content.Select(c => (JsonNode?)c.ToString()).ToArray());
        if (n.Type == NodeType.Directory) o["subtree"] = new JsonArray(n.Content.Select(c => (JsonNode?)c.ToString()).ToArray());
        return o;
    }

    private static async Task<int> DumpAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "read files").ConfigureAwait(false);
        var snapshot = await repo.Snapshots.ResolveAsync(ctx.Args.Positionals[0], ctx.SnapshotFilter(), ctx.Cancellation).ConfigureAwait(false);
        var path = "/" + ctx.Args.Positionals[1].Trim('/');
        var node = await SnapshotWalker.FindAsync(repo, snapshot, path, ctx.Cancellation).ConfigureAwait(false)
            ?? throw new UsageException($"there is no '{path}' in snapshot {snapshot.Id.ToShortString()}; 'dedup ls {snapshot.Id.ToShortString()}' lists what is there");
        if (node.Type != NodeType.File)
            throw new UsageException($"'{path}' is a {Text.TypeName(node.Type)}, not a file; dump writes one file (use 'restore --include' for more)");
        await using var stdout = Console.OpenStandardOutput();
        await Dedup.Archiver.Restore.Dump.WriteFileAsync(repo, snapshot.Domain, node, stdout, ctx.Cancellation).ConfigureAwait(false);
        return ExitCodes.Ok;
    }
}
