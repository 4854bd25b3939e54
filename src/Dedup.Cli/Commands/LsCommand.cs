using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using Dedup.Archiver.Trees;
using Dedup.Cli.Cli;
using Dedup.Format;
using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

/// <summary>'ls': looking inside a snapshot without restoring it.</summary>
public sealed class LsCommand : Verb
{
    private readonly Argument<string> _snapshot;
    private readonly Argument<string> _path;
    private readonly Option<bool> _long = Opt.Flag("long", "show mode, owner, size and modification time", 'l');
    private readonly SnapshotSelection _selection = new();

    public LsCommand() : base("ls", "List the entries of a snapshot, or of one directory in it, recursively.",
        "With --json, prints one JSON object per line (JSON Lines), so huge snapshots stream.\n\n" + SnapshotSelection.Help)
    {
        _snapshot = Arg<string>("SNAPSHOT", SnapshotSelection.ArgumentHelp, ArgumentArity.ExactlyOne);
        _path = Arg<string>("PATH", "a directory or file inside the snapshot (default: all of it)", ArgumentArity.ZeroOrOne);
        Add(_long);
        foreach (var o in _selection.All) Add(o);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "list snapshot contents").ConfigureAwait(false);
        var snapshot = await repo.Snapshots.ResolveAsync(ctx.Get(_snapshot)!, _selection.Filter(ctx), ctx.Cancellation).ConfigureAwait(false);
        var start = ctx.Get(_path) is { } p ? "/" + p.Trim('/') : "/";
        bool longFormat = ctx.Get(_long);
        await foreach (var (path, node) in WalkAsync(repo, snapshot, start, ctx.Cancellation).ConfigureAwait(false))
        {
            if (ctx.Json) ctx.WriteJson(LsEntry.From(path, node), CliJson.Default.LsEntry);
            else if (!longFormat) ctx.Out.WriteLine(path);
            else
            {
                var owner = (node.User.Length > 0 ? node.User : node.Uid.ToString(CultureInfo.InvariantCulture)) + " "
                            + (node.Group.Length > 0 ? node.Group : node.Gid.ToString(CultureInfo.InvariantCulture));
                var link = node.Type == NodeType.Symlink ? " -> " + node.LinkTarget : "";
                ctx.Out.WriteLine($"{Text.Mode(node.Type, node.Mode)} {owner,-17} {node.Size,12} {Text.LocalTime(Text.FromUnixNs(node.MTimeNs))} {path}{link}");
            }
        }
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The entries at and below <paramref name="start"/>, parents first, reading one directory per level at a time, in
    /// the snapshot's own dedup domain.
    /// </summary>
    private static async IAsyncEnumerable<(string Path, TreeNode Node)> WalkAsync(Repo repo, LoadedSnapshot snapshot, string start,
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
}

/// <summary>One tree entry as 'ls --json' and 'cat tree' print it; type-specific fields appear only for that type.</summary>
public sealed record LsEntry(
    string Path, string Name, string Type, uint Mode, string Permissions, uint Uid, uint Gid, string User, string Group, long Size,
    string Mtime, string Ctime, ulong Inode, ulong Device,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? LinkTarget,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ulong? Rdev,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Subtree)
{
    public static LsEntry From(string path, TreeNode n) => new(
        path, n.Name, Text.TypeName(n.Type), n.Mode, Text.Mode(n.Type, n.Mode), n.Uid, n.Gid, n.User, n.Group, n.Size,
        Text.Iso(Text.FromUnixNs(n.MTimeNs)), Text.Iso(Text.FromUnixNs(n.CTimeNs)), n.Inode, n.Device,
        n.Type == NodeType.Symlink ? n.LinkTarget : null,
        n.Type is NodeType.BlockDevice or NodeType.CharDevice ? n.Rdev : null,
        n.Type == NodeType.File ? n.Content.Select(c => c.ToString()).ToList() : null,
        n.Type == NodeType.Directory ? n.Content.Select(c => c.ToString()).ToList() : null);
}
