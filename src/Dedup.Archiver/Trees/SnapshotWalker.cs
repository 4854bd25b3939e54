using System.Runtime.CompilerServices;
using Dedup.Format;
using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Trees;

/// <summary>An entry met while walking a snapshot: its path inside the snapshot ("/home/ann/a.txt") and its node.</summary>
public readonly record struct WalkEntry(string Path, TreeNode Node);

/// <summary>Reads directories from tree blobs, and walks whole snapshots depth-first in name order.</summary>
public static class SnapshotWalker
{
    /// <summary>
    /// Decodes a directory spread over one or more tree blobs of <paramref name="domain"/> (the snapshot's), checking the
    /// order holds across blob boundaries. Every blob is verified under that domain's key, so a snapshot can only ever
    /// reach trees and files of its own domain.
    /// </summary>
    public static async Task<List<TreeNode>> LoadDirectoryAsync(Repo repo, DomainId domain, IReadOnlyList<ObjectId> treeIds, CancellationToken ct = default)
    {
        var nodes = new List<TreeNode>();
        foreach (var id in treeIds)
        {
            using var blob = await repo.Blobs.ReadAsync(id, domain, ct).ConfigureAwait(false);
            var part = TreeCodec.Decode(blob.Span, $"tree {id.ToShortString()}");
            if (nodes.Count > 0 && part.Count > 0 && string.CompareOrdinal(nodes[^1].Name, part[0].Name) >= 0)
                throw new CorruptObjectException($"tree {id.ToShortString()}", "its entries overlap the previous tree blob of the directory");
            nodes.AddRange(part);
        }
        return nodes;
    }

    public static IReadOnlyList<ObjectId> RootTree(SnapshotInfo info) => info.Tree.Select(ObjectId.Parse).ToArray();

    /// <summary>
    /// One ID for a directory's list of tree blobs (the blob itself when there is one). A snapshot is a DAG: a directory
    /// may be listed under many paths, and a hostile one lists the same subtree twice at each of many levels, so that
    /// walking it path by path costs 2^depth. Walks that derive something from a directory (check, copy, repair) key what
    /// they did by this, and do it once per snapshot.
    /// </summary>
    public static ObjectId DirectoryKey(IReadOnlyList<ObjectId> treeIds)
    {
        if (treeIds.Count == 1) return treeIds[0];
        var bytes = new byte[treeIds.Count * ObjectId.Size];
        for (int i = 0; i < treeIds.Count; i++) treeIds[i].WriteTo(bytes.AsSpan(i * ObjectId.Size));
        return ObjectId.HashOf(bytes);
    }

    /// <summary>
    /// Every entry of the snapshot, parents before children, siblings in name order. Memory holds one
    /// directory listing per level, never the whole tree. Depth is bounded so a hostile tree cannot recurse forever.
    /// </summary>
    public static IAsyncEnumerable<WalkEntry> WalkAsync(Repo repo, LoadedSnapshot snapshot, CancellationToken ct = default) =>
        WalkAsync(repo, snapshot.Info, snapshot.Domain, ct);

    /// <summary>The same, for a snapshot's payload and the domain it lives in (a backup's own result, say).</summary>
    public static async IAsyncEnumerable<WalkEntry> WalkAsync(Repo repo, SnapshotInfo info, DomainId domain, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var stack = new Stack<(string Path, IEnumerator<TreeNode> Children)>();
        stack.Push(("", (await LoadDirectoryAsync(repo, domain, RootTree(info), ct).ConfigureAwait(false)).GetEnumerator()));
        while (stack.Count > 0)
        {
            var (dir, children) = stack.Peek();
            if (!children.MoveNext())
            {
                stack.Pop();
                continue;
            }
            var node = children.Current;
            var path = dir + "/" + node.Name;
            yield return new WalkEntry(path, node);
            if (node.Type == NodeType.Directory && node.Content.Count > 0)
            {
                if (stack.Count >= Limits.MaxTreeDepth) throw new CorruptObjectException(path, $"directories nest deeper than {Limits.MaxTreeDepth} levels");
                stack.Push((path, (await LoadDirectoryAsync(repo, domain, node.Content, ct).ConfigureAwait(false)).GetEnumerator()));
            }
        }
    }

    /// <summary>Finds the node at a path inside the snapshot ("/home/ann/a.txt"), or null.</summary>
    public static async Task<TreeNode?> FindAsync(Repo repo, LoadedSnapshot snapshot, string path, CancellationToken ct = default)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        IReadOnlyList<ObjectId> dir = RootTree(snapshot.Info);
        TreeNode? node = null;
        foreach (var part in parts)
        {
            if (node is not null && node.Type != NodeType.Directory) return null;
            var entries = await LoadDirectoryAsync(repo, snapshot.Domain, dir, ct).ConfigureAwait(false);
            node = entries.Find(n => n.Name == part);
            if (node is null) return null;
            dir = node.Content;
        }
        return node;
    }
}
