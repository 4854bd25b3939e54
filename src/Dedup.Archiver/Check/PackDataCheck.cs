using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Packs;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Check;

/// <summary>
/// check --read-data: reads every stored pack whole, a few at a time (memory is about <c>concurrency</c> packs),
/// and verifies its name, its header against the index, and every blob (see <see cref="PackVerifier"/>).
/// </summary>
internal static class PackDataCheck
{
    /// <summary>Returns how many blobs were opened and verified.</summary>
    public static async Task<long> RunAsync(Repo repo, IReadOnlyDictionary<ObjectId, IndexPack> packs, IReadOnlyDictionary<ObjectId, long> stored,
        IndexTable table, ConcurrentDictionary<ObjectId, (string, string)> badBlobs, ProblemLog log, CheckProgress progress,
        int concurrency, CancellationToken ct)
    {
        long verified = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, concurrency), CancellationToken = ct };
        await Parallel.ForEachAsync(stored, options, async (kv, token) =>
        {
            var (packId, size) = kv;
            var name = Layout.Pack(packId);
            packs.TryGetValue(packId, out var indexed);
            if (size > RepositoryConfig.MaxPackSize * 2L)
            {
                log.Add(name, $"{size} bytes is larger than any pack this repository writes; not read");
                if (indexed is not null) PackStructureCheck.MarkBlobs(indexed, table, badBlobs, name, "its pack is oversized");
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
            Interlocked.Add(ref progress._bytesRead, read);
            Interlocked.Increment(ref progress._packsRead);
            var result = PackVerifier.Verify(buffer.Span[..read], packId, indexed, repo.Keys);
            Interlocked.Add(ref verified, result.BlobsChecked - result.BadBlobs.Count);
            Interlocked.Add(ref progress._blobs, result.BlobsChecked);
            Report(result, name, indexed is not null, table, badBlobs, log);
        }).ConfigureAwait(false);
        return verified;
    }

    private static void Report(PackVerification result, string name, bool isIndexed, IndexTable table,
        ConcurrentDictionary<ObjectId, (string, string)> badBlobs, ProblemLog log)
    {
        if (!result.HashMatches)
        {
            log.Add(name, result.BadBlobs.Count == 0 && result.HeaderProblem is null
                ? "its content does not match its name, though its blobs still verify"
                : "its content does not match its name (damaged or replaced)");
        }
        if (result.HeaderProblem is not null) log.Add(name, result.HeaderProblem);
        foreach (var m in result.IndexMismatches) log.Add(name, m);
        foreach (var bad in result.BadBlobs)
        {
            // Only a blob the index fetches from this pack hurts a restore; a damaged duplicate elsewhere does not.
            bool used = isIndexed && table.TryGet(bad.Id, out var loc) && loc.PackId == result.PackId;
            if (used)
            {
                var reason = $"blob {bad.Id.ToShortString()} is damaged: {bad.Reason}";
                badBlobs.TryAdd(bad.Id, (name, reason));
                log.Add(name, "holds damaged blobs");
            }
            else
            {
                log.Add(name, $"blob {bad.Id.ToShortString()} is damaged ({bad.Reason}), but no index entry uses this copy", warning: !isIndexed);
            }
        }
    }
}
