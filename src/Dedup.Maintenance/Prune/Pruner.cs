using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Packs;
using Dedup.Repository.Snapshots;
using Dedup.Repository.Trust;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Maintenance.Prune;

/// <summary>
/// Lock-free, two-phase prune (spec/prune-protocol.md). It plans first and then acts, and every step is safe to kill:
/// <list type="number">
/// <item>Mark: packs no trusted snapshot needs, packs mostly unused (after their live blobs are copied to new packs and
/// verified on the way) and old unindexed packs are listed in a signed, create-only mark. Clients treat blobs found only
/// in marked packs as absent.</item>
/// <item>Delete: a mark older than the grace period, with no backup that started before it still running, has its
/// packs deleted, except a pack holding a blob some snapshot needs that has no verified copy elsewhere. Order:
/// compacted index files, then the old index files, then the packs, then the mark; a crash at any point leaves a
/// repository the next run finishes.</item>
/// </list>
/// What a compromised writer can plant is tolerated, never trusted: untrusted and dangling snapshots are reported and
/// do not stop prune; claims of untrusted signers count for nothing; a writer's claim is never taken as a copy that
/// allows deleting another until it has been read and verified.
/// </summary>
public sealed class Pruner
{
    private readonly Repo _repo;
    private readonly IMaintenanceStorage _storage;
    private readonly PruneOptions _options;
    private readonly PruneReport _report = new();

    private Pruner(Repo repo, IMaintenanceStorage storage, PruneOptions options)
    {
        _repo = repo;
        _storage = storage;
        _options = options;
    }

    public static Task<PruneReport> RunAsync(Repo repo, IMaintenanceStorage storage, PruneOptions options, CancellationToken ct = default)
    {
        repo.Keys.RequireReadKey("prune (it must read every snapshot)");
        return new Pruner(repo, storage, options).RunAsync(ct);
    }

    private DateTimeOffset Now => _repo.Clock.GetUtcNow();

    private async Task<PruneReport> RunAsync(CancellationToken ct)
    {
        // Snapshots before the index: a backup stores its index files before its snapshot, so every snapshot read here
        // finds its blobs in the index read next, even when backups finish in between. A backup that finishes after
        // the snapshots were read has packs that look unused: they are only marked, and the grace period, its backup
        // marker and the next run's snapshots keep them.
        var markers = await LoadMarkersAsync(ct).ConfigureAwait(false);
        var snapshots = await LoadSnapshotsAsync(ct).ConfigureAwait(false);
        await _repo.LoadIndexAsync(ct).ConfigureAwait(false);
        ReportIndex(_repo.IndexReport);
        var used = new UsedBlobs(_repo.Index);
        foreach (var s in snapshots) await used.AddSnapshotAsync(_repo, s, ct).ConfigureAwait(false);
        foreach (var d in used.Dangling)
            _report.Notes.Add($"snapshot {d.Snapshot[..8]} of host '{d.Host}' is incomplete: {d.Problem}; what it does reach is kept. Run 'dedup check', then 'dedup repair snapshots'.");
        _report.DanglingSnapshots = used.Dangling.Count;
        _report.Snapshots = snapshots.Count;
        _report.BlobsUsed = used.Count;
        _report.BlobsTotal = _repo.Index.Count;

        // Phase 1: plan and write a new mark.
        var stored = await ListPacksAsync(ct).ConfigureAwait(false);
        var alreadyMarked = _repo.Marks.SelectMany(m => m.Packs).ToHashSet();
        var claims = ClaimsByPack();
        await FindForeignClaimsAsync(claims, stored, ct).ConfigureAwait(false);
        var (unused, repack) = Classify(claims, used, alreadyMarked, stored);
        var orphans = FindOrphanPacks(alreadyMarked, stored);
        if (!_options.DryRun)
        {
            var repacked = repack.Count > 0 ? await RepackAsync(repack, claims, used, ct).ConfigureAwait(false) : [];
            var toMark = unused.Concat(repacked).Concat(orphans).Distinct().ToList();
            if (toMark.Count > 0)
            {
                var bytes = PruneMark.Seal(Now, toMark, _repo.Keys);
                await _storage.PutAsync(PruneMark.Prefix + ObjectId.HashOf(bytes), bytes, ct).ConfigureAwait(false);
                _report.PacksMarked = toMark.Count;
            }
        }

        // Phase 2: delete what marks old enough allow, using a fresh view of the index that includes the new mark.
        if (!_options.DryRun) await DeleteExpiredAsync(used, markers, snapshots, ct).ConfigureAwait(false);
        if (_options.Grace == TimeSpan.Zero)
            _report.Notes.Add("grace 0: packs were deleted without waiting; this is safe only if no backup was running.");
        else if (_options.Grace - _options.MaxBackupAge < Dedup.Repository.PutOnly.PutOnlyRules.ResumeWindow)
            _report.Notes.Add($"grace {_options.Grace.TotalHours:0.#} h with max backup age {_options.MaxBackupAge.TotalHours:0.#} h is unsafe with put-only hosts: "
                              + $"they resume killed backups for {Dedup.Repository.PutOnly.PutOnlyRules.ResumeWindow.TotalHours:0} h on the defaults (48 h and 24 h); see spec prune-protocol 'Put-only writers'.");
        return _report;
    }

    private void ReportIndex(IndexLoadReport index)
    {
        foreach (var e in index.Damaged)
            _report.Notes.Add($"{e.ObjectName} is damaged ({e.Reason}); packs no other index file lists are kept. Run 'dedup repair index'.");
        foreach (var u in index.Untrusted)
            _report.Notes.Add($"{u.Name} is ignored: {u.Reason}.");
        _report.IndexFilesIgnored = index.Untrusted.Count;
    }

    /// <summary>
    /// The trusted snapshots. A snapshot that cannot be read, or whose signer is not trusted, is reported and skipped:
    /// it neither keeps data (a planted snapshot must not pin others' data) nor stops prune (a planted one must not block it).
    /// </summary>
    private async Task<List<LoadedSnapshot>> LoadSnapshotsAsync(CancellationToken ct)
    {
        var damaged = new ConcurrentQueue<string>();
        var all = await _repo.Snapshots.LoadAllAsync((id, e) => damaged.Enqueue($"snapshot {id.ToShortString()} cannot be read ({e.Reason})"), ct).ConfigureAwait(false);
        foreach (var d in damaged) _report.Notes.Add(d + "; it is skipped. Run 'dedup check'.");
        foreach (var s in all.Where(s => !s.IsTrusted))
            _report.Notes.Add($"snapshot {s.Id.ToShortString()} is not trusted ({s.Header.Signer.Problem}); it keeps nothing.");
        _report.SnapshotsIgnored = damaged.Count + all.Count(s => !s.IsTrusted);
        return all.Where(s => s.IsTrusted).ToList();
    }

    private async Task<List<BackupMarker>> LoadMarkersAsync(CancellationToken ct)
    {
        var markers = new List<BackupMarker>();
        var trust = await _repo.GetTrustAsync(ct).ConfigureAwait(false);
        await foreach (var obj in _storage.ListAsync(BackupMarker.Prefix, ct).ConfigureAwait(false))
        {
            if (!Layout.TryParseId(obj.Name, out var id)) continue;
            try
            {
                var bytes = await StoredObjects.ReadListedAsync(_storage, obj.Name, id, BackupMarker.MaxSize, ct).ConfigureAwait(false);
                markers.Add(BackupMarker.Open(bytes, id, obj.LastModified, _repo.Keys, trust, obj.Name));
            }
            catch (CorruptObjectException)
            {
                // An unreadable marker cannot announce anything; treat it as a backup started when it was stored. It can
                // only hold deletion back for the max backup age.
                markers.Add(new BackupMarker(id, obj.LastModified, obj.LastModified, "?", new Signer([], SignerTrust.Untrusted, null, "damaged")));
            }
            catch (ObjectNotFoundException)
            {
            }
        }
        return markers;
    }

    private async Task<Dictionary<ObjectId, StoredObject>> ListPacksAsync(CancellationToken ct)
    {
        var stored = new Dictionary<ObjectId, StoredObject>();
        await foreach (var obj in _storage.ListAsync(Layout.DataPrefix, ct).ConfigureAwait(false))
            if (Layout.TryParseId(obj.Name, out var id)) stored[id] = obj;
        return stored;
    }

    /// <summary>Claims that name a pack of another domain than its header records (see <see cref="FindForeignClaimsAsync"/>).</summary>
    private readonly HashSet<int> _foreignClaims = [];

    /// <summary>
    /// A writer can claim blobs of its own domain in any pack — another host's, say — and then write a snapshot that uses
    /// them, so that the pack looks used for ever and data its owner's snapshots no longer need is never deleted. A pack
    /// is written in one domain, recorded in its sealed header (which only the pack's writer, holding its data key, could
    /// write). So where claims put one pack in several domains, the header is read, and claims of any other domain count
    /// for nothing here: they neither keep the pack nor are copied from it. A header that does not open leaves every
    /// claim counting (nothing is decided on damage).
    /// </summary>
    private async Task FindForeignClaimsAsync(Dictionary<ObjectId, List<int>> claims, Dictionary<ObjectId, StoredObject> stored, CancellationToken ct)
    {
        var readKey = _repo.Keys.RequireReadKey("read pack headers");
        foreach (var (packId, packClaims) in claims)
        {
            var domains = packClaims.Select(c => _repo.Index.GetClaim(c).Domain).Distinct().ToList();
            if (domains.Count < 2 || !stored.TryGetValue(packId, out var obj)) continue;
            try
            {
                var header = await PackHeaderReader.ReadAsync(_storage, packId, obj.Size, readKey, ct).ConfigureAwait(false);
                foreach (var c in packClaims.Where(c => _repo.Index.GetClaim(c).Domain != header.Domain)) _foreignClaims.Add(c);
                _report.ForeignClaimsIgnored += packClaims.Count(_foreignClaims.Contains);
            }
            catch (Exception e) when (e is CorruptObjectException or ObjectNotFoundException)
            {
                _report.Notes.Add($"{Layout.Pack(packId)} is claimed in {domains.Count} dedup domains and its header does not open ({e.Message}); every claim is kept.");
            }
        }
    }

    private Dictionary<ObjectId, List<int>> ClaimsByPack()
    {
        var byPack = new Dictionary<ObjectId, List<int>>();
        var all = _repo.Index.Claims();
        for (int c = 0; c < all.Count; c++)
        {
            if (!byPack.TryGetValue(all[c].Id, out var list)) byPack[all[c].Id] = list = [];
            list.Add(c);
        }
        return byPack;
    }

    /// <summary>
    /// Packs no claim of which holds a used blob, and packs whose unused share reaches the repack threshold. A pack is
    /// judged by the claim that finds the most of it used, so a false claim can only make a pack look more used.
    /// </summary>
    private (List<ObjectId> Unused, List<ObjectId> Repack) Classify(Dictionary<ObjectId, List<int>> claims, UsedBlobs used,
        HashSet<ObjectId> alreadyMarked, Dictionary<ObjectId, StoredObject> stored)
    {
        var unused = new List<ObjectId>();
        var repack = new List<ObjectId>();
        foreach (var (packId, packClaims) in claims)
        {
            if (alreadyMarked.Contains(packId) || !stored.TryGetValue(packId, out var obj)) continue;
            long usedBytes = 0;
            foreach (var c in packClaims.Where(c => !_foreignClaims.Contains(c)))
            {
                var claim = _repo.Index.GetClaim(c);
                long u = 0;
                for (int i = 0; i < claim.Count; i++)
                    if (used.IsUsed(claim.FirstEntry + i)) u += _repo.Index.EntryLocation(claim.FirstEntry + i).StoredLength;
                usedBytes = Math.Max(usedBytes, u);
            }
            if (usedBytes == 0)
            {
                unused.Add(packId);
                _report.BytesUnused += obj.Size;
            }
            else if (obj.Size - usedBytes >= _options.RepackUnusedFraction * obj.Size)
            {
                repack.Add(packId);
                _report.BytesUnused += obj.Size - usedBytes;
                _report.BytesRepacked += usedBytes;
            }
        }
        _report.PacksTotal = claims.Count;
        _report.PacksUnused = unused.Count;
        _report.PacksToRepack = repack.Count;
        return (unused, repack);
    }

    /// <summary>
    /// Packs in data/ that no trusted index file lists, older than the grace period and the max backup age: left by
    /// interrupted backups, or by a writer whose claims do not count. None while an index file could not be read: it
    /// might list them.
    /// </summary>
    private List<ObjectId> FindOrphanPacks(HashSet<ObjectId> alreadyMarked, Dictionary<ObjectId, StoredObject> stored)
    {
        if (!_repo.IndexReport.Complete)
        {
            _report.Notes.Add("packs that no index lists are kept this time, because an index file could not be read.");
            return [];
        }
        var cutoff = Now - Max(_options.Grace, _options.MaxBackupAge);
        var orphans = stored.Values.Where(o => Layout.TryParseId(o.Name, out var id) && !_repo.Index.ContainsPack(id) && !alreadyMarked.Contains(id) && o.LastModified < cutoff)
            .Select(o => { Layout.TryParseId(o.Name, out var id); return id; }).ToList();
        _report.OrphanPacks = orphans.Count;
        return orphans;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// Copies the used blobs of mostly-unused packs into new packs (one writer per domain, claimed with the full key's
    /// origin), reading each from the very pack being repacked and verifying it under its domain's key. Returns the packs
    /// whose every used blob was copied: only those may be marked. A used blob that does not open where a claim says is
    /// reported, and its pack is kept.
    /// </summary>
    private async Task<List<ObjectId>> RepackAsync(List<ObjectId> packs, Dictionary<ObjectId, List<int>> claims, UsedBlobs used, CancellationToken ct)
    {
        var writers = new Dictionary<DomainId, RepositoryWriter>();
        var copied = new HashSet<(ObjectId, DomainId)>();
        var done = new List<ObjectId>();
        try
        {
            foreach (var packId in packs)
            {
                bool complete = true;
                foreach (var c in claims[packId].Where(c => !_foreignClaims.Contains(c)))
                {
                    var claim = _repo.Index.GetClaim(c);
                    for (int i = 0; i < claim.Count; i++)
                    {
                        int entry = claim.FirstEntry + i;
                        if (!used.IsUsed(entry)) continue;
                        var id = _repo.Index.EntryId(entry);
                        if (copied.Contains((id, claim.Domain))) continue;
                        try
                        {
                            using var plain = await _repo.Blobs.ReadAtAsync(id, _repo.Index.EntryLocation(entry), ct).ConfigureAwait(false);
                            if (!writers.TryGetValue(claim.Domain, out var writer)) writers[claim.Domain] = writer = _repo.StartWriting(claim.Domain);
                            await writer.AddAsync(claim.Type, id, plain.Memory, ct).ConfigureAwait(false);
                            copied.Add((id, claim.Domain));
                        }
                        catch (CorruptObjectException e)
                        {
                            complete = false;
                            _report.Notes.Add($"{Layout.Pack(packId)} is kept: blob {id.ToShortString()} does not open where an index claim says ({e.Reason}). Run 'dedup check --read-data'.");
                            break;
                        }
                    }
                    if (!complete) break;
                }
                if (complete) done.Add(packId);
            }
            foreach (var w in writers.Values) await w.FlushAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            foreach (var w in writers.Values) await w.DisposeAsync().ConfigureAwait(false);
        }
        _report.PacksRepacked = done.Count;
        return done;
    }

    private async Task DeleteExpiredAsync(UsedBlobs used, List<BackupMarker> markers, List<LoadedSnapshot> snapshots, CancellationToken ct)
    {
        var marks = await _repo.LoadMarksAsync(ct).ConfigureAwait(false);
        var now = Now;
        var finished = FinishedMarkers(markers, snapshots);
        var expired = new List<PruneMark>();
        foreach (var m in marks)
        {
            // Both the storage's clock and the admin's must agree the grace period has passed.
            if (m.StoredAt + _options.Grace > now || m.MarkedAt + _options.Grace > now)
            {
                _report.MarksPending++;
                continue;
            }
            // A backup that announced itself before the mark was stored may have read an index listing these packs.
            // Only markers of trusted signers count: an unknown or revoked writer's cannot hold deletion back.
            var running = markers.Where(b => b.Signer.IsTrusted && !finished.Contains(b.Id) && b.StoredAt <= m.StoredAt && now - b.StoredAt < _options.MaxBackupAge).ToList();
            if (running.Count > 0 && _options.Grace > TimeSpan.Zero)
            {
                _report.MarksPending++;
                _report.Notes.Add($"mark {m.Id.ToShortString()} waits for {running.Count} backup(s) still running, e.g. from host '{running[0].Host}' since {running[0].StartedAt:u}");
                continue;
            }
            expired.Add(m);
        }
        if (expired.Count == 0)
        {
            await CleanUpAsync(markers, finished, ct).ConfigureAwait(false);
            return;
        }

        // A fresh view that knows every mark, so that copies in unmarked packs are told apart from marked ones.
        var view = new IndexTable();
        var allMarked = marks.SelectMany(m => m.Packs).ToHashSet();
        await _repo.LoadIndexIntoAsync(view, allMarked, ct).ConfigureAwait(false);
        var candidates = expired.SelectMany(m => m.Packs).ToHashSet();
        // Listed afresh: a full key's claim is a verified copy only while its pack exists (see HasVerifiedCopyAsync).
        var present = (await ListPacksAsync(ct).ConfigureAwait(false)).Keys.ToHashSet();
        var keep = await NeededPacksAsync(candidates, used, view, present, ct).ConfigureAwait(false);
        var delete = candidates.Where(p => !keep.Contains(p)).ToHashSet();
        _report.PacksRecovered = keep.Count;

        await CompactIndexAsync(delete, ct).ConfigureAwait(false);
        _report.BytesFreed += await DeletePacksAsync(delete, ct).ConfigureAwait(false);
        foreach (var m in expired) await _storage.DeleteAsync(PruneMark.Prefix + m.Id, ct).ConfigureAwait(false);
        _report.MarksCompleted = expired.Count;
        await CleanUpAsync(markers, finished, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The markers whose backup has finished: a trusted snapshot that its own signer wrote names it as its session.
    /// Anyone who may list inflight/ sees marker IDs, and a signer block names who wrote each, so a snapshot naming
    /// another signer's marker finishes nothing: otherwise a compromised host could end the protection of another host's
    /// running backup.
    /// </summary>
    private static HashSet<ObjectId> FinishedMarkers(List<BackupMarker> markers, List<LoadedSnapshot> snapshots)
    {
        var bySession = snapshots.Where(s => s.Info.Session is not null).ToLookup(s => s.Info.Session!, StringComparer.Ordinal);
        return markers.Where(b => bySession[b.Id.ToString()].Any(s => s.Header.SignerPublicKey.AsSpan().SequenceEqual(b.Signer.PublicKey)))
            .Select(b => b.Id).ToHashSet();
    }

    /// <summary>
    /// The candidate packs that must stay: those holding a used blob with no verified copy in a pack that stays. A copy
    /// a full key stored counts as verified (prune verified what it repacked; a full-key backup is trusted); a copy only a
    /// writer claims is read and verified here first, because a compromised writer can claim any blob of its domain in a
    /// pack of garbage.
    /// </summary>
    private async Task<HashSet<ObjectId>> NeededPacksAsync(HashSet<ObjectId> candidates, UsedBlobs used, IndexTable view, HashSet<ObjectId> present, CancellationToken ct)
    {
        var keep = new HashSet<ObjectId>();
        var verified = new Dictionary<(ObjectId, DomainId), bool>();
        using var reader = new BlobReader(_repo.Storage, view, _repo.Keys);
        var claims = _repo.Index.Claims();
        for (int c = 0; c < claims.Count; c++)
        {
            var claim = claims[c];
            if (!candidates.Contains(claim.Id) || keep.Contains(claim.Id) || _foreignClaims.Contains(c)) continue;
            for (int i = 0; i < claim.Count && !keep.Contains(claim.Id); i++)
            {
                int entry = claim.FirstEntry + i;
                if (!used.IsUsed(entry)) continue;
                var id = _repo.Index.EntryId(entry);
                if (!verified.TryGetValue((id, claim.Domain), out bool ok))
                {
                    ok = await HasVerifiedCopyAsync(id, claim.Domain, candidates, view, present, reader, ct).ConfigureAwait(false);
                    verified[(id, claim.Domain)] = ok;
                }
                if (!ok) keep.Add(claim.Id);
            }
        }
        return keep;
    }

    /// <remarks>
    /// A full key's claim was true when it was written and packs never change, so it needs no reading, but only while its
    /// pack exists: a compacted index file that prune deleted can be uploaded again (by anyone who kept a copy; write-only
    /// hosts may read index/) and then claims, with the full key's origin, packs that are long gone.
    /// </remarks>
    private async Task<bool> HasVerifiedCopyAsync(ObjectId id, DomainId domain, HashSet<ObjectId> candidates, IndexTable view, HashSet<ObjectId> present,
        BlobReader reader, CancellationToken ct)
    {
        var others = view.Locations(id, domain).Where(l => !candidates.Contains(l.PackId)).ToList();
        if (others.Any(l => l.Origin == PackOrigin.FullKey && present.Contains(l.PackId))) return true;
        foreach (var l in others)
        {
            try
            {
                using var plain = await reader.ReadAtAsync(id, l, ct).ConfigureAwait(false);
                _report.CopiesVerified++;
                return true;
            }
            catch (Exception e) when (e is CorruptObjectException or ObjectNotFoundException)
            {
                _report.Notes.Add($"{Layout.Pack(l.PackId)} is claimed to hold blob {id.ToShortString()}, but it does not open there ({e.Message}); the marked copy is kept.");
            }
        }
        return false;
    }

    /// <summary>
    /// Writes index files for every trusted claim that stays (one set per domain, signed by the repository key, each claim
    /// keeping its origin, so a writer's claim is never promoted by being relayed), then deletes the index files that were
    /// read, and those whose signer is not trusted. Damaged files are left for 'repair index'.
    /// </summary>
    private async Task CompactIndexAsync(HashSet<ObjectId> deleting, CancellationToken ct)
    {
        var gate = new Lock();
        var perDomain = new Dictionary<DomainId, List<IndexPack>>();
        var seen = new HashSet<(ObjectId, DomainId, ObjectId)>();
        var report = new IndexLoadReport.Builder();
        await _repo.ForEachIndexFileAsync((_, p, domain, _) =>
        {
            lock (gate)
            {
                if (deleting.Contains(p.PackId)) return;
                // The same claim often stands in several files (a writer's and a compacted copy); write it once.
                if (!seen.Add((p.PackId, domain, ClaimDigest(p)))) return;
                if (!perDomain.TryGetValue(domain, out var list)) perDomain[domain] = list = [];
                list.Add(p);
            }
        }, report, ct).ConfigureAwait(false);
        var loaded = report.Build();
        var obsolete = loaded.Files.Concat(loaded.Untrusted.Select(u => u.Name)).ToList();
        foreach (var (domain, packs) in perDomain)
            foreach (var chunk in packs.Chunk(_options.PacksPerIndexFile))
            {
                var bytes = IndexFile.Seal(chunk, _repo.Keys.For(domain), _repo.Keys);
                var name = Layout.Index(ObjectId.HashOf(bytes));
                await _storage.PutAsync(name, bytes, ct).ConfigureAwait(false);
                obsolete.Remove(name);
                _report.IndexFilesWritten++;
            }
        foreach (var name in obsolete)
        {
            await _storage.DeleteAsync(name, ct).ConfigureAwait(false);
            _report.IndexFilesDeleted++;
        }
    }

    private static ObjectId ClaimDigest(IndexPack p)
    {
        using var w = new PooledBufferWriter();
        IndexCodec.Write(w, [p]);
        return ObjectId.HashOf(w.WrittenSpan);
    }

    private async Task<long> DeletePacksAsync(HashSet<ObjectId> packs, CancellationToken ct)
    {
        long freed = 0;
        await Parallel.ForEachAsync(packs, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (id, token) =>
        {
            var name = Layout.Pack(id);
            var stat = await _storage.StatAsync(name, token).ConfigureAwait(false);
            if (stat is null) return; // deleted by an earlier, interrupted run
            await _storage.DeleteAsync(name, token).ConfigureAwait(false);
            Interlocked.Add(ref freed, stat.Value.Size);
            lock (_report) _report.PacksDeleted++;
        }).ConfigureAwait(false);
        return freed;
    }

    /// <summary>Removes markers of finished or dead backups and markers that do not count, and multipart uploads abandoned longer than the grace period.</summary>
    private async Task CleanUpAsync(List<BackupMarker> markers, HashSet<ObjectId> finished, CancellationToken ct)
    {
        var now = Now;
        // Markers that count for nothing (unknown or revoked signers, damage, the credential check's canaries) go at once.
        foreach (var m in markers.Where(m => finished.Contains(m.Id) || now - m.StoredAt >= _options.MaxBackupAge || !m.Signer.IsTrusted))
        {
            await _storage.DeleteAsync(BackupMarker.Prefix + m.Id, ct).ConfigureAwait(false);
            _report.MarkersRemoved++;
        }
        _report.UploadsAborted = await _storage.AbortIncompleteUploadsAsync(Max(_options.Grace, TimeSpan.FromHours(1)), ct).ConfigureAwait(false);
    }
}
