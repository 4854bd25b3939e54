using System.Collections;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Maintenance.Prune;

/// <summary>
/// The set of blobs some snapshot needs, as one bit per index entry: about 1.2 MiB for 10 million blobs, and no
/// per-blob objects. Trees shared between snapshots are walked once, because a tree already marked is skipped.
/// </summary>
internal sealed class UsedBlobs(IndexTable index)
{
    private readonly BitArray _used = new(Math.Max(1, index.Count));

    public long Count { get; private set; }

    public bool IsUsed(int entry) => _used[entry];

    private bool MarkUsed(in ObjectId id, string context)
    {
        if (!index.TryGetEntryNumber(id, out int entry))
            throw new RepositoryException($"{context} refers to blob {id.ToShortString()}, which is in no index: the repository is missing data. Prune deletes nothing until 'dedup check' and 'dedup repair' have dealt with it.");
        if (_used[entry]) return false;
        _used[entry] = true;
        Count++;
        return true;
    }

    public async Task AddSnapshotAsync(Repo repo, LoadedSnapshot snapshot, CancellationToken ct)
    {
        var context = $"snapshot {snapshot.Id.ToShortString()}";
        var pending = new Stack<(ObjectId Id, int Depth)>();
        foreach (var t in SnapshotWalker.RootTree(snapshot.Info))
            if (MarkUsed(t, context)) pending.Push((t, 0));
        while (pending.Count > 0)
        {
            var (treeId, depth) = pending.Pop();
            if (depth > Limits.MaxTreeDepth) throw new CorruptObjectException(context, "trees nest too deep");
            foreach (var node in await SnapshotWalker.LoadDirectoryAsync(repo, [treeId], ct).ConfigureAwait(false))
            {
                if (node.Type == NodeType.File)
                    foreach (var id in node.Content) MarkUsed(id, context);
                else if (node.Type == NodeType.Directory)
                    foreach (var id in node.Content)
                        if (MarkUsed(id, context)) pending.Push((id, depth + 1));
            }
        }
    }
}
