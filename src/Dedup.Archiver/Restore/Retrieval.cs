using Dedup.Format;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Restore;

/// <summary>One pack a restore needs, and whether it can be read now.</summary>
public sealed record PackState(ObjectId Pack, string Name, ArchiveState State);

/// <summary>The packs a restore needs, by archive state: what must be retrieved before it can run.</summary>
public sealed record RetrievalPlan(IReadOnlyList<PackState> Packs)
{
    /// <summary>Packs with no readable copy now: archived, or a retrieval still running.</summary>
    public IReadOnlyList<PackState> Unreadable => Packs.Where(p => !p.State.Readable).ToList();

    /// <summary>Packs that need a retrieval request (archived, none running).</summary>
    public IReadOnlyList<PackState> ToRequest => Packs.Where(p => p.State.Status == ArchiveStatus.Archived).ToList();
}

/// <summary>
/// Cold storage for restores: which packs a selection needs (the same walk and filters as <see cref="Restorer"/>), their
/// archive states, retrieval requests, and waiting for them. Trees are read on the way, so tree packs must be hot; data
/// packs are the ones a storage class or lifecycle rule may archive.
/// </summary>
public static class Retrieval
{
    /// <summary>
    /// The data packs holding the content of the files that a restore with these filters writes. An archived tree pack
    /// stops it with its <see cref="ObjectArchivedException"/>; <see cref="NeededPacksWalk"/> goes on past it.
    /// </summary>
    public static async Task<IReadOnlySet<ObjectId>> NeededPacksAsync(Repo repo, LoadedSnapshot snapshot, IReadOnlyList<string> includes,
        IReadOnlyList<string> excludes, CancellationToken ct = default) =>
        (await NeededPacksWalk.RunAsync(repo, snapshot, includes, excludes, skipArchivedTrees: false, ct).ConfigureAwait(false)).Data;

    /// <summary>Asks the store for each pack's state (one HEAD each, <paramref name="parallel"/> at a time).</summary>
    public static async Task<RetrievalPlan> PlanAsync(IArchiveStorage archive, IEnumerable<ObjectId> packs, int parallel, CancellationToken ct = default)
    {
        var ids = packs.ToArray();
        var states = new PackState[ids.Length];
        await Parallel.ForAsync(0, ids.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallel), CancellationToken = ct }, async (i, c) =>
        {
            var name = Layout.Pack(ids[i]);
            states[i] = new PackState(ids[i], name, await archive.GetArchiveStateAsync(name, c).ConfigureAwait(false));
        }).ConfigureAwait(false);
        return new RetrievalPlan(states.OrderBy(s => s.Name, StringComparer.Ordinal).ToList());
    }

    /// <summary>Requests retrieval of every archived pack of the plan. Idempotent: a re-run after a kill asks again harmlessly.</summary>
    public static Task RequestAsync(IArchiveStorage archive, RetrievalPlan plan, RetrievalTier tier, int days, int parallel, CancellationToken ct = default) =>
        Parallel.ForEachAsync(plan.ToRequest, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallel), CancellationToken = ct },
            async (p, c) => await archive.RequestRestoreAsync(p.Name, tier, days, c).ConfigureAwait(false));

    /// <summary>
    /// The packs of <paramref name="plan"/> as they become readable: first those readable now, then, after each poll of
    /// the unreadable ones every <paramref name="interval"/> of <paramref name="clock"/>, those that became readable since
    /// (each pack once; a batch may be empty). <paramref name="progress"/> gets (readable, total) before each batch. A
    /// copy that expired while waiting is asked for again. Callers act on each batch (restore the files, check the packs,
    /// copy the snapshots it completes) before asking for the next, so work starts with the first thawed pack. Nothing is
    /// requested here but re-requests: call <see cref="RequestAsync"/> first.
    /// </summary>
    public static async IAsyncEnumerable<IReadOnlyList<PackState>> ThawAsync(IArchiveStorage archive, RetrievalPlan plan, RetrievalTier tier, int days,
        TimeProvider clock, TimeSpan interval, int parallel, Action<int, int> progress,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        int total = plan.Packs.Count;
        var pending = plan.Unreadable.Select(p => p.Pack).ToList();
        progress(total - pending.Count, total);
        yield return plan.Packs.Where(p => p.State.Readable).ToList();
        while (pending.Count > 0)
        {
            await Task.Delay(interval, clock, ct).ConfigureAwait(false);
            var now = await PlanAsync(archive, pending, parallel, ct).ConfigureAwait(false);
            await RequestAsync(archive, now, tier, days, parallel, ct).ConfigureAwait(false);
            pending = now.Unreadable.Select(p => p.Pack).ToList();
            progress(total - pending.Count, total);
            yield return now.Packs.Where(p => p.State.Readable).ToList();
        }
    }

    /// <summary>How often to ask: about a tenth of the tier's typical time (Expedited 1-5 min, Standard 3-5 h, Bulk 5-12 h).</summary>
    public static TimeSpan PollInterval(RetrievalTier tier) => tier switch
    {
        RetrievalTier.Expedited => TimeSpan.FromMinutes(1),
        RetrievalTier.Bulk => TimeSpan.FromHours(1),
        _ => TimeSpan.FromMinutes(20),
    };
}
