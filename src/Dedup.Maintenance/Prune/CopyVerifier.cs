using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Maintenance.Prune;

/// <summary>
/// Phase 2's rule (spec "Prune", phase 2, step 2): a candidate pack may go only if every used blob it holds has a
/// verified copy in a pack that stays. A copy a full key stored counts as verified while its pack exists (prune verified
/// what it repacked; a full-key backup is trusted); a copy only a writer claims is read and verified first, because a
/// compromised writer can claim any blob of its domain in a pack of garbage. The planner asks to predict, the executor
/// asks again against the index as it is after the mark was written; results are cached per blob and domain.
/// </summary>
internal sealed class CopyVerifier(Repo repo, PruneReport report)
{
    private long _bytesRead;
    // Copies read and verified, by blob: a copy that opened stays good while its pack exists and is not being deleted,
    // so the executor's second look does not read it again (nor report it twice).
    private readonly Dictionary<(ObjectId, DomainId), ObjectId> _readOk = [];

    /// <summary>Bytes of writer-claimed copies read to verify them.</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    /// <summary>
    /// The candidates that must stay, each with the reason. Copies in <paramref name="beingRepacked"/> count as verified:
    /// the repack copies those blobs into a full key's packs, reading and verifying them, before anything is deleted
    /// (only with grace 0 does that matter in the same run; the executor asks again once the copies exist).
    /// </summary>
    public async Task<Dictionary<ObjectId, string>> NeededPacksAsync(HashSet<ObjectId> candidates, UsedBlobs used, IndexTable view,
        IReadOnlyDictionary<ObjectId, ListedPack> present, HashSet<int> foreignClaims, IReadOnlySet<ObjectId> beingRepacked, CancellationToken ct)
    {
        var keep = new Dictionary<ObjectId, string>();
        var verified = new Dictionary<(ObjectId, DomainId), bool>();
        using var reader = new BlobReader(repo.Storage, view, repo.Keys);
        var claims = repo.Index.Claims();
        for (int c = 0; c < claims.Count; c++)
        {
            var claim = claims[c];
            if (!candidates.Contains(claim.Id) || keep.ContainsKey(claim.Id) || foreignClaims.Contains(c) || beingRepacked.Contains(claim.Id)) continue;
            for (int i = 0; i < claim.Count && !keep.ContainsKey(claim.Id); i++)
            {
                int entry = claim.FirstEntry + i;
                if (!used.IsUsed(entry)) continue;
                var id = repo.Index.EntryId(entry);
                if (!verified.TryGetValue((id, claim.Domain), out bool ok))
                {
                    ok = await HasVerifiedCopyAsync(id, claim.Domain, candidates, view, present, beingRepacked, reader, ct).ConfigureAwait(false);
                    verified[(id, claim.Domain)] = ok;
                }
                if (!ok) keep[claim.Id] = $"blob {id.ToShortString()}, which a trusted snapshot uses, has no verified copy elsewhere";
            }
        }
        return keep;
    }

    /// <remarks>
    /// A full key's claim was true when it was written and packs never change, so it needs no reading, but only while its
    /// pack exists: a compacted index file that prune deleted can be uploaded again (by anyone who kept a copy; write-only
    /// hosts may read index/) and then claims, with the full key's origin, packs that are long gone.
    /// </remarks>
    private async Task<bool> HasVerifiedCopyAsync(ObjectId id, DomainId domain, HashSet<ObjectId> candidates, IndexTable view, IReadOnlyDictionary<ObjectId, ListedPack> present,
        IReadOnlySet<ObjectId> beingRepacked, BlobReader reader, CancellationToken ct)
    {
        var all = view.Locations(id, domain);
        if (all.Any(l => beingRepacked.Contains(l.PackId))) return true;
        var others = all.Where(l => !candidates.Contains(l.PackId)).ToList();
        if (others.Any(l => l.Origin == PackOrigin.FullKey && present.ContainsKey(l.PackId))) return true;
        if (_readOk.TryGetValue((id, domain), out var readBefore) && others.Any(l => l.PackId == readBefore) && present.ContainsKey(readBefore)) return true;
        foreach (var l in others)
        {
            try
            {
                Interlocked.Add(ref _bytesRead, l.StoredLength);
                using var plain = await reader.ReadAtAsync(id, l, ct).ConfigureAwait(false);
                lock (report) report.CopiesVerified++;
                _readOk[(id, domain)] = l.PackId;
                return true;
            }
            catch (Exception e) when (e is CorruptObjectException or Storage.ObjectNotFoundException)
            {
                lock (report) report.Notes.Add($"{Layout.Pack(l.PackId)} is claimed to hold blob {id.ToShortString()}, but it does not open there ({e.Message}); the marked copy is kept.");
            }
        }
        return false;
    }
}
