using Dedup.Archiver.Restore;
using Dedup.Format;
using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Copy;

/// <summary>
/// Copy from cold storage: which source packs each snapshot reads, and the snapshots in the order their packs become
/// readable, so that each is copied as soon as it can be (those whose packs are all hot first), not after the last pack
/// of all of them thawed. Used as <see cref="SnapshotCopier.RunAsync"/>'s order.
/// </summary>
public static class CopyOrder
{
    /// <summary>
    /// The snapshots grouped as their packs thaw. <paramref name="thaw"/> gets every source data pack the snapshots read
    /// (as a restore of all of each would: <see cref="Retrieval.NeededPacksAsync"/>) and yields them as they become
    /// readable; tree packs are hot and read on the way.
    /// </summary>
    public static async IAsyncEnumerable<IReadOnlyList<LoadedSnapshot>> AsPacksThawAsync(Repo source, IReadOnlyList<LoadedSnapshot> snapshots,
        Func<IReadOnlyCollection<ObjectId>, IAsyncEnumerable<IReadOnlyList<ObjectId>>> thaw,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var needs = await NeedsAsync(source, snapshots, ct).ConfigureAwait(false);
        var all = needs.SelectMany(n => n.Packs).ToHashSet();
        await foreach (var group in Ready(needs, thaw(all), ct).ConfigureAwait(false)) yield return group;
    }

    /// <summary>The source data packs each snapshot reads, as a restore of all of it would (its index must be loaded).</summary>
    public static async Task<IReadOnlyList<(LoadedSnapshot Snapshot, IReadOnlySet<ObjectId> Packs)>> NeedsAsync(Repo source, IReadOnlyList<LoadedSnapshot> snapshots,
        CancellationToken ct = default)
    {
        var needs = new List<(LoadedSnapshot, IReadOnlySet<ObjectId>)>(snapshots.Count);
        foreach (var s in snapshots) needs.Add((s, await Retrieval.NeededPacksAsync(source, s, [], [], ct).ConfigureAwait(false)));
        return needs;
    }

    /// <summary>
    /// The items, each once and in their given order within a group, as soon as every pack it needs has come out of
    /// <paramref name="readable"/>; an empty group is not yielded. Items whose packs never came (the batches ended early)
    /// come last, so that the caller reports them rather than losing them.
    /// </summary>
    public static async IAsyncEnumerable<IReadOnlyList<T>> Ready<T>(IReadOnlyList<(T Item, IReadOnlySet<ObjectId> Packs)> items,
        IAsyncEnumerable<IReadOnlyList<ObjectId>> readable, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var seen = new HashSet<ObjectId>();
        var waiting = items.ToList();
        await foreach (var batch in readable.WithCancellation(ct).ConfigureAwait(false))
        {
            seen.UnionWith(batch);
            var ready = waiting.Where(w => w.Packs.IsSubsetOf(seen)).ToList();
            if (ready.Count == 0) continue;
            waiting.RemoveAll(w => w.Packs.IsSubsetOf(seen));
            yield return ready.Select(r => r.Item).ToList();
        }
        if (waiting.Count > 0) yield return waiting.Select(w => w.Item).ToList();
    }
}
