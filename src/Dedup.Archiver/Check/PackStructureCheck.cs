using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Repository.Index;
using Dedup.Repository.Packs;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Check;

/// <summary>
/// The pack checks that do not read blob data: every indexed pack exists, has exactly the size its index entry
/// implies, and has a trailer and header that open and agree with the index; packs that no index lists are
/// reported as harmless leftovers.
/// </summary>
internal static class PackStructureCheck
{
    public static async Task RunAsync(Repo repo, IReadOnlyDictionary<ObjectId, List<IndexedClaim>> packs, IReadOnlyDictionary<ObjectId, long> stored,
        IReadOnlySet<ObjectId> marked, IndexTable table, BadLocations bad, ProblemLog log, CheckProgress progress, CancellationToken ct)
    {
        Interlocked.Exchange(ref progress._packsTotal, packs.Count);
        foreach (var id in stored.Keys)
            if (!packs.ContainsKey(id)) log.Add(Layout.Pack(id), "unindexed (left by an interrupted backup; harmless)", warning: true);

        var readKey = repo.Keys.RequireReadKey("check pack headers");
        await Parallel.ForEachAsync(packs, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (kv, token) =>
        {
            var (packId, claims) = kv;
            var name = Layout.Pack(packId);
            Interlocked.Increment(ref progress._packs);
            if (!stored.TryGetValue(packId, out long size))
            {
                if (marked.Contains(packId))
                {
                    // Prune marked it and has deleted it; its index entry goes when prune finishes. Fine unless a snapshot needs it,
                    // which the tree check will then report through the blobs below.
                    log.Add(name, "deleted by prune but still indexed (prune has not finished)", warning: true);
                }
                else
                {
                    log.Add(name, "missing: the index lists it but the store does not have it");
                }
                foreach (var c in claims) bad.MarkClaim(table, c.Claim, name, "its pack is missing");
                return;
            }
            var fitting = new List<(IndexedClaim Claim, IndexPack Pack)>();
            foreach (var c in claims)
            {
                var claimed = table.ClaimedPack(c.Claim);
                long expected = ExpectedSize(claimed);
                if (size == expected)
                {
                    fitting.Add((c, claimed));
                    continue;
                }
                log.Add(name, claims.Count == 1
                    ? $"has {size} bytes but its index entry implies {expected} (truncated, extended or replaced)"
                    : $"has {size} bytes but one of its {claims.Count} index claims implies {expected} (a damaged or false claim)");
                bad.MarkClaim(table, c.Claim, name, "its pack has another size than the index says");
            }
            if (fitting.Count == 0) return;
            try
            {
                var header = await PackHeaderReader.ReadAsync(repo.Storage, packId, size, readKey, token).ConfigureAwait(false);
                foreach (var (c, claimed) in fitting)
                {
                    foreach (var m in PackVerifier.Compare(header, claimed)) log.Add(name, m);
                    if (header.Domain != c.Domain) log.Add(name, $"the index puts it in dedup domain {c.Domain.ToShortString()}, its header in {header.Domain.ToShortString()}");
                }
            }
            catch (CorruptObjectException e)
            {
                log.Add(name, e.Reason);
            }
            catch (Dedup.Storage.ObjectNotFoundException)
            {
                log.Add(name, "missing: it vanished while being checked");
            }
            catch (Dedup.Storage.ObjectArchivedException e)
            {
                log.Add(name, ArchivedNote(e, "its header was not read"), warning: true);
            }
        }).ConfigureAwait(false);
    }

    internal const string ArchivedPrefix = "archived";

    /// <summary>What check says of a pack in an archive class (GLACIER, DEEP_ARCHIVE) it could not read, and what to run.</summary>
    internal static string ArchivedNote(Dedup.Storage.ObjectArchivedException e, string what) =>
        $"{ArchivedPrefix}{(e.StorageClass is { } c ? $" in {c}" : "")} and not retrieved: {what}. 'dedup restore SNAPSHOT --target DIR --plan' lists the "
        + "archived packs a snapshot needs and the cost; 'dedup check --read-data --retrieve-tier standard' retrieves the packs it reads and verifies each as it thaws";

    /// <summary>
    /// The exact size of a pack a writer produced from these blobs: the blobs back to back, the sealed header
    /// (its encoding is fully determined by the entries) and the trailer.
    /// </summary>
    public static long ExpectedSize(IndexPack pack)
    {
        long dataEnd = 0;
        long header = 1 + 1 + DomainId.Size + VarIntLength((ulong)pack.Blobs.Length);
        foreach (var b in pack.Blobs)
        {
            dataEnd = Math.Max(dataEnd, b.Offset + b.StoredLength);
            header += ObjectId.Size + VarIntLength((ulong)b.StoredLength) + VarIntLength((ulong)b.RawLength);
        }
        return dataEnd + header + Dedup.Crypto.Aead.TagSize + PackHeaderReader.TrailerSize;
    }

    private static int VarIntLength(ulong v)
    {
        int n = 1;
        while (v >= 0x80)
        {
            v >>= 7;
            n++;
        }
        return n;
    }
}
