using Dedup.Format;
using Dedup.Repository;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Restore;

/// <summary>What one wave of a restore as packs thaw did, and how far the retrieval is.</summary>
public sealed record RestoreWaveReport(int Wave, int ReadablePacks, int TotalPacks, RestoreResult Result);

/// <summary>
/// A restore that runs as its packs thaw: after each batch of packs that became readable
/// (<see cref="Retrieval.ThawAsync"/>), one wave restores the files whose packs are now all readable and that no
/// earlier wave wrote; files with a pack still being retrieved wait for a later wave. Directory metadata and --delete
/// come in the last wave only. Memory: two sets of pack IDs, bounded by the plan, never by the number of files.
/// A killed run is resumed by running it again: its first wave writes everything readable, and files already complete
/// are kept as unchanged (the restore's resume logic).
/// </summary>
public static class ThawedRestore
{
    /// <param name="thawed">The plan's packs as they become readable, each once; the first batch holds those readable now.</param>
    /// <param name="restore">Runs one wave (<see cref="Restorer.RunAsync"/>, with the caller's progress).</param>
    public static async Task<RestoreResult> RunAsync(Repo repo, DomainId domain, RestoreOptions options, RetrievalPlan plan,
        IAsyncEnumerable<IReadOnlyList<PackState>> thawed, Func<RestoreOptions, Task<RestoreResult>> restore, Action<RestoreWaveReport> onWave,
        CancellationToken ct = default)
    {
        int total = plan.Packs.Count;
        var now = new HashSet<ObjectId>();
        HashSet<ObjectId>? before = null; // readable at the previous wave; null before the first
        RestoreResult? sum = null;
        int wave = 0;
        await foreach (var batch in thawed.WithCancellation(ct).ConfigureAwait(false))
        {
            foreach (var p in batch) now.Add(p.Pack);
            if (batch.Count == 0 && before is not null) continue; // nothing new since the last wave
            bool last = now.Count >= total;
            var previous = before;
            var result = await restore(options with { Wave = new RestoreWave(node => Availability(repo, domain, node, previous, now), last) }).ConfigureAwait(false);
            onWave(new RestoreWaveReport(++wave, now.Count, total, result));
            sum = sum is null ? result : Combine(sum, result);
            before = [.. now];
        }
        return sum ?? throw new InvalidOperationException("the thaw yielded no batch");
    }

    /// <summary>
    /// Done when all the file's packs (the ones a reader tries first, as <see cref="Retrieval.NeededPacksAsync"/> planned)
    /// were readable at the previous wave, which then wrote it; Ready when all are readable now; else Later. A blob the
    /// index does not list needs no pack: the restore reports it missing in the first wave.
    /// </summary>
    private static ContentAvailability Availability(Repo repo, DomainId domain, TreeNode node, HashSet<ObjectId>? before, HashSet<ObjectId> now)
    {
        bool allBefore = before is not null, allNow = true;
        foreach (var blob in node.Content)
        {
            if (!repo.Index.TryGet(blob, domain, out var location)) continue;
            allNow &= now.Contains(location.PackId);
            allBefore &= before?.Contains(location.PackId) == true;
        }
        return allBefore ? ContentAvailability.Done : allNow ? ContentAvailability.Ready : ContentAvailability.Later;
    }

    /// <summary>The restore as a whole: counts add up over the waves; directories, deletions and what waits are the last wave's.</summary>
    private static RestoreResult Combine(RestoreResult a, RestoreResult b) =>
        new(a.Files + b.Files, Math.Max(a.Directories, b.Directories), a.Bytes + b.Bytes, a.Skipped + b.Skipped, [.. a.Failures, .. b.Failures])
        {
            SkippedPaths = [.. a.SkippedPaths.Concat(b.SkippedPaths).Take(1000)],
            Damaged = [.. a.Damaged, .. b.Damaged],
            Reads = b.Reads,
            Overwritten = a.Overwritten + b.Overwritten,
            Unchanged = a.Unchanged + b.Unchanged,
            Deleted = a.Deleted + b.Deleted,
            DeletedBytes = a.DeletedBytes + b.DeletedBytes,
            Verified = a.Verified + b.Verified,
            VerifyFailures = [.. a.VerifyFailures, .. b.VerifyFailures],
            DryRun = b.DryRun,
            FilesReadInOrder = a.FilesReadInOrder + b.FilesReadInOrder,
            Deferred = b.Deferred,
        };
}
