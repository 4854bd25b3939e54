using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Packs;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Check;

/// <summary>
/// check --read-data: reads the given stored packs (all, or a subset) whole, a few at a time (memory is about <c>concurrency</c> packs),
/// and verifies its name, its header against the index, and every blob (see <see cref="PackVerifier"/>).
/// </summary>
internal static class PackDataCheck
{
    /// <summary>Returns how many blobs were opened and verified.</summary>
    public static async Task<long> RunAsync(Repo repo, IReadOnlyDictionary<ObjectId, List<IndexedClaim>> packs, IEnumerable<KeyValuePair<ObjectId, long>> stored,
        IndexTable table, BadLocations bad, ProblemLog log, CheckProgress progress, int concurrency, CancellationToken ct)
    {
        long verified = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, concurrency), CancellationToken = ct };
        await Parallel.ForEachAsync(stored, options, async (kv, token) =>
        {
            var (packId, size) = kv;
            var name = Layout.Pack(packId);
            var claims = packs.TryGetValue(packId, out var c) ? c : [];
            if (size > RepositoryConfig.MaxPackSize * 2L)
            {
                log.Add(name, $"{size} bytes is larger than any pack this repository writes; not read");
                foreach (var claim in claims) bad.MarkClaim(table, claim.Claim, name, "its pack is oversized");
                return;
            }
            using var buffer = new RentedBuffer((int)size, holdsOnlyCiphertext: true); // a whole stored pack
            int read;
            try
            {
                read = await StoredObjects.ReadPrefixAsync(repo.Storage, name, buffer.Memory, token).ConfigureAwait(false);
            }
            catch (Dedup.Storage.ObjectNotFoundException)
            {
                return; // deleted by a concurrent prune after listing
            }
            catch (Dedup.Storage.ObjectArchivedException e)
            {
                log.Add(name, PackStructureCheck.ArchivedNote(e, "not read, so not verified"), warning: true);
                return;
            }
            // Archived when the structure check asked for its header, retrieved since: the header is verified below.
            log.WithdrawWarnings(name, PackStructureCheck.ArchivedPrefix);
            Interlocked.Add(ref progress._bytesRead, read);
            Interlocked.Increment(ref progress._packsRead);
            // Each claim is opened as it describes the pack: that is what a restore through it would read.
            var views = claims.Count == 0 ? new List<IndexedClaim?> { null } : claims.Cast<IndexedClaim?>().ToList();
            bool first = true;
            foreach (var claim in views)
            {
                var result = PackVerifier.Verify(buffer.Span[..read], packId, claim is null ? null : table.ClaimedPack(claim.Claim), claim?.Domain, repo.Keys);
                Interlocked.Add(ref verified, result.BlobsChecked - result.BadBlobs.Count);
                Interlocked.Add(ref progress._blobs, result.BlobsChecked);
                Report(result, name, claim, first, claims.Count, table, bad, log);
                first = false;
            }
        }).ConfigureAwait(false);
        return verified;
    }

    private static void Report(PackVerification result, string name, IndexedClaim? claim, bool first, int claimCount, IndexTable table, BadLocations bad, ProblemLog log)
    {
        if (first && !result.HashMatches)
        {
            log.Add(name, result.BadBlobs.Count == 0 && result.HeaderProblem is null
                ? "its content does not match its name, though its blobs still verify"
                : "its content does not match its name (damaged or replaced)");
        }
        if (first && result.HeaderProblem is not null) log.Add(name, result.HeaderProblem);
        foreach (var m in result.IndexMismatches) log.Add(name, m);
        if (claim is null)
        {
            foreach (var b in result.BadBlobs)
                log.Add(name, $"blob {b.Id.ToShortString()} is damaged ({b.Reason}), but no index entry uses this copy", warning: true);
            return;
        }
        foreach (var b in result.BadBlobs)
        {
            bad.MarkBlob(table, claim.Claim, b.Id, name, $"blob {b.Id.ToShortString()} is damaged: {b.Reason}");
            log.Add(name, claimCount == 1 ? "holds damaged blobs" : "holds blobs that do not open where one of its index claims says");
        }
    }
}
