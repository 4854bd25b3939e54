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
/// Builds a <see cref="PrunePlan"/>: reads markers, snapshots, marks and the index (in that order, spec "Prune", Plan),
/// finds what trusted snapshots use, and decides every pack's fate. It writes nothing; the only objects it reads beyond
/// the listings and the index are pack headers (packs claimed in several domains) and writer-claimed copies that
/// phase 2 must verify before it lets another copy go.
/// </summary>
internal sealed class PrunePlanner
{
    private readonly Repo _repo;
    private readonly IMaintenanceStorage _storage;
    private readonly PruneOptions _options;
    private readonly PruneReport _report = new();
    private readonly HashSet<int> _foreignClaims = [];
    private long _headerBytesRead;

    private readonly IArchiveStorage? _archive;
    // Packs in a class other than the default: their class (GLACIER, STANDARD_IA...) and when they were stored.
    private readonly Dictionary<ObjectId, string> _classes = [];

    // The reasons most packs share, one object each per plan (PackReason): a row holds a reference, not a sentence.
    private static readonly PackReason Blind = PackReason.Of("its domain has a tree that cannot be read (see the notes)");
    private static readonly PackReason NoSnapshotUsesIt = PackReason.Of("no trusted snapshot uses it");
    private static readonly PackReason NoIndexListsIt = PackReason.Of("no index lists it (an interrupted backup, or claims that do not count)");
    private readonly PackReason _withinBudget, _capReached, _repacked;
    private readonly Dictionary<string, PackReason> _archivedIn = [];
    private readonly Dictionary<ObjectId, PackReason> _deletedAfter = [];

    public PrunePlanner(Repo repo, IMaintenanceStorage storage, PruneOptions options, IArchiveStorage? archive = null)
    {
        _archive = archive;
        _repo = repo;
        _storage = storage;
        _options = options;
        _withinBudget = PackReason.AfterShare($"; the repository is within --max-unused {options.MaxUnused}");
        _capReached = PackReason.AfterShare($"; --max-repack-size {options.MaxRepackSize ?? long.MaxValue} bytes is reached for this run");
        _repacked = PackReason.AfterShare($"; repacked, emptiest first, to meet --max-unused {options.MaxUnused}");
    }

    private DateTimeOffset Now => _repo.Clock.GetUtcNow();

    public async Task<PrunePlan> PlanAsync(CancellationToken ct)
    {
        // Snapshots before the index: a backup stores its index files before its snapshot, so every snapshot read here
        // finds its blobs in the index read next, even when backups finish in between. A backup that finishes after
        // the snapshots were read has packs that look unused: they are only marked, and the grace period, its backup
        // marker and the next run's snapshots keep them.
        var markers = await LoadMarkersAsync(ct).ConfigureAwait(false);
        var snapshots = await LoadSnapshotsAsync(ct).ConfigureAwait(false);
        await _repo.LoadIndexAsync(ct).ConfigureAwait(false);
        ReportIndex(_repo.IndexReport);
        Phase("index loaded");
        var used = new UsedBlobs(_repo.Index);
        foreach (var s in snapshots) await used.AddSnapshotAsync(_repo, s, ct).ConfigureAwait(false);
        foreach (var d in used.Dangling)
            _report.Notes.Add($"snapshot {d.Snapshot[..8]} of host '{d.Host}' is incomplete: {d.Problem}; what it does reach is kept. Run 'dedup check', then 'dedup repair snapshots'.");
        _report.DanglingSnapshots = used.Dangling.Count;
        foreach (var (_, why) in used.BlindDomains)
            _report.Notes.Add($"{why}: none of its domain's packs is marked or repacked this run, since what that tree holds is unknown. "
                + "Run 'dedup check --read-data'; put the damaged pack back ('dedup rollback' on a versioned bucket) or run 'dedup repair snapshots'.");
        _report.Snapshots = snapshots.Count;
        _report.BlobsUsed = used.Count;
        _report.BlobsTotal = _repo.Index.Count;
        Phase("used blobs found");

        var stored = await Pruner.ListPacksAsync(_storage, ct).ConfigureAwait(false);
        if (_archive is not null)
            await foreach (var (obj, storageClass) in _archive.ListNonDefaultClassAsync(Layout.DataPrefix, ct).ConfigureAwait(false))
                if (Layout.TryParseId(obj.Name, out var id) && obj.Name == Layout.Pack(id)) _classes[id] = storageClass;
        Phase("data/ listed");
        var marks = _repo.Marks;
        var claims = new ClaimsByPack(_repo.Index.Claims());
        await FindForeignClaimsAsync(claims, stored, ct).ConfigureAwait(false);
        Phase("claims grouped by pack");

        // Phase 1: what the new mark lists.
        var plans = new Dictionary<ObjectId, PackPlan>();
        var markedBy = new Dictionary<ObjectId, PruneMark>();
        foreach (var m in marks)
            foreach (var p in m.Packs) markedBy.TryAdd(p, m);
        var budget = Classify(claims, used, markedBy, stored, plans);
        long orphaned = FindOrphanPacks(markedBy, stored, plans);
        Phase("packs classified");

        // Phase 2: what expired marks let go. With grace 0 the new mark expires at once, so its packs are candidates too.
        var finished = FinishedMarkers(markers, snapshots);
        var expired = ExpiredMarks(marks, markers, finished, markedBy, stored, plans);
        var candidates = expired.SelectMany(m => m.Packs).Where(stored.ContainsKey).ToHashSet();
        bool graceZero = _options.Grace == TimeSpan.Zero;
        var repacking = plans.Values.Where(p => p.Action == PackAction.Repack).Select(p => p.Pack).ToHashSet();
        if (graceZero) candidates.UnionWith(plans.Values.Where(p => p.Action is PackAction.Mark or PackAction.Repack).Select(p => p.Pack));
        var verifier = new CopyVerifier(_repo, _report);
        // Repacked blobs get a full key's copy before the mark is written; with grace 0 that copy is what lets them go.
        var needed = await verifier.NeededPacksAsync(candidates, used, _repo.Index, stored, _foreignClaims,
            graceZero ? repacking : [], ct).ConfigureAwait(false);
        foreach (var packId in candidates)
        {
            var size = stored[packId].Size;
            if (!plans.TryGetValue(packId, out var now))
            {
                var mark = markedBy[packId];
                plans[packId] = needed.TryGetValue(packId, out var why)
                    ? new PackPlan(packId, PackAction.Recover, size, 0, 0, false, PackReason.Of($"marked {mark.StoredAt:u}, but {why}"))
                    : new PackPlan(packId, PackAction.Delete, size, 0, 0, true, DeletedAfter(mark));
            }
            else if (!needed.ContainsKey(packId))
            {
                plans[packId] = now with { DeletedThisRun = true };
            }
        }

        Phase("expired marks decided");
        // Rows are values: copied into the list, the dictionary's go before sorting.
        var list = new List<PackPlan>(plans.Values);
        plans.Clear();
        plans.TrimExcess();
        list.Sort(PrintOrder);
        long repackBytes = list.Where(p => p.Action == PackAction.Repack).Sum(p => p.Used);
        long deleteBytes = list.Where(p => p.DeletedThisRun).Sum(p => p.Size);
        // New packs carry about the overhead of the ones they replace, in proportion; the compacted index is rewritten
        // whole (its files are replaced) whenever anything is deleted.
        long indexBytes = list.Any(p => p.DeletedThisRun) ? await Pruner.StoredBytesAsync(_storage, Layout.IndexPrefix, ct).ConfigureAwait(false) : 0;
        var plan = new PrunePlan
        {
            PlannedAt = Now,
            Options = _options,
            Packs = list,
            PacksStored = stored.Count,
            BytesStored = stored.Values.Sum(o => o.Size),
            BytesUsed = budget.Used,
            BytesUnused = budget.Unused,
            BytesUnusedAfter = budget.UnusedAfter,
            UnusedLimit = budget.Limit,
            BytesOverhead = budget.Overhead,
            BytesOrphaned = orphaned,
            BytesMarked = stored.Where(o => markedBy.ContainsKey(o.Key)).Sum(o => o.Value.Size),
            BytesToRepack = repackBytes,
            BytesToDelete = deleteBytes,
            PacksToDelete = list.Count(p => p.DeletedThisRun),
            BytesToDownload = repackBytes + _headerBytesRead + verifier.BytesRead,
            BytesToUpload = repackBytes + budget.RepackOverhead + indexBytes,
            MarksPending = _report.MarksPending,
            MarksExpired = expired.Count,
            Report = _report,
            Used = used,
            Claims = claims,
            ForeignClaims = _foreignClaims,
            Markers = markers,
            FinishedMarkers = finished,
            ExpiredMarks = expired,
            Verifier = verifier,
        };
        _report.Plan = plan;
        _report.PacksTotal = claims.PackCount;
        _report.PacksUnused = list.Count(p => p.Action == PackAction.Mark && claims.Contains(p.Pack));
        _report.PacksToRepack = list.Count(p => p.Action == PackAction.Repack);
        _report.BytesUnused = budget.Unused;
        _report.BytesRepacked = repackBytes;
        Phase("plan built");
        return plan;
    }

    private void Phase(string name) => _options.Log?.Report(name);

    /// <summary>By action, largest first; ties by pack ID, so that the same state prints the same plan.</summary>
    private static int PrintOrder(PackPlan a, PackPlan b) =>
        a.Action != b.Action ? a.Action.CompareTo(b.Action) : a.Size != b.Size ? b.Size.CompareTo(a.Size) : a.Pack.CompareTo(b.Pack);

    private PackReason DeletedAfter(PruneMark mark)
    {
        if (!_deletedAfter.TryGetValue(mark.Id, out var reason))
            _deletedAfter[mark.Id] = reason = PackReason.Of($"marked {mark.StoredAt:u}; the grace period has passed and nothing needs it");
        return reason;
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
        if (_options.AssumeForgotten.Count == 0) return all.Where(s => s.IsTrusted).ToList();
        if (!_options.DryRun) throw new InvalidOperationException("only a dry run may assume snapshots forgotten");
        int assumed = all.Count(s => _options.AssumeForgotten.Contains(s.Id.ToString()));
        _report.Notes.Add($"planned as if the {assumed} snapshot(s) forget would remove were gone (dry run)");
        return all.Where(s => s.IsTrusted && !_options.AssumeForgotten.Contains(s.Id.ToString())).ToList();
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

    /// <summary>
    /// A writer can claim blobs of its own domain in any pack — another host's, say — and then write a snapshot that uses
    /// them, so that the pack looks used for ever and data its owner's snapshots no longer need is never deleted. A pack
    /// is written in one domain, recorded in its sealed header (which only the pack's writer, holding its data key, could
    /// write). So where claims put one pack in several domains, the header is read, and claims of any other domain count
    /// for nothing here: they neither keep the pack nor are copied from it. A header that does not open leaves every
    /// claim counting (nothing is decided on damage).
    /// </summary>
    private async Task FindForeignClaimsAsync(ClaimsByPack claims, Dictionary<ObjectId, ListedPack> stored, CancellationToken ct)
    {
        var readKey = _repo.Keys.RequireReadKey("read pack headers");
        foreach (var (packId, packClaims) in claims.Groups())
        {
            var domains = packClaims.Select(c => _repo.Index.GetClaim(c).Domain).Distinct().ToList();
            if (domains.Count < 2 || !stored.TryGetValue(packId, out var obj)) continue;
            try
            {
                var header = await PackHeaderReader.ReadAsync(_storage, packId, obj.Size, readKey, ct).ConfigureAwait(false);
                _headerBytesRead += PackHeaderReader.TrailerSize + header.SealedHeaderLength;
                foreach (var c in packClaims.Where(c => _repo.Index.GetClaim(c).Domain != header.Domain)) _foreignClaims.Add(c);
                _report.ForeignClaimsIgnored += packClaims.Count(_foreignClaims.Contains);
            }
            catch (Exception e) when (e is CorruptObjectException or ObjectNotFoundException)
            {
                _report.Notes.Add($"{Layout.Pack(packId)} is claimed in {domains.Count} dedup domains and its header does not open ({e.Message}); every claim is kept.");
            }
        }
    }

    private readonly record struct Budget(long Used, long Unused, long UnusedAfter, long Limit, long Overhead, long RepackOverhead);

    /// <summary>
    /// Every indexed, unmarked pack: unused (no claim of it holds a used entry) is marked; partly used packs are repacked,
    /// emptiest first, until the unused bytes that stay are within the budget, and as far as --max-repack-size allows.
    /// A pack is judged by the claim that finds the most of it used, so a false claim can only make a pack look more
    /// used. Its unused bytes are that claim's unused blobs: header and trailer are overhead, which no repack removes.
    /// </summary>
    private Budget Classify(ClaimsByPack claims, UsedBlobs used, Dictionary<ObjectId, PruneMark> markedBy,
        Dictionary<ObjectId, ListedPack> stored, Dictionary<ObjectId, PackPlan> plans)
    {
        var partly = new List<(ObjectId Pack, long Size, long Used, long Unused)>();
        long usedTotal = 0, unusedTotal = 0, overhead = 0, whollyUnused = 0;
        foreach (var (packId, packClaims) in claims.Groups())
        {
            if (markedBy.ContainsKey(packId) || !stored.TryGetValue(packId, out var obj)) continue;
            if (packClaims.Any(c => !_foreignClaims.Contains(c) && used.BlindDomains.ContainsKey(_repo.Index.GetClaim(c).Domain)))
            {
                plans[packId] = new PackPlan(packId, PackAction.Keep, obj.Size, obj.Size, 0, false, Blind);
                continue;
            }
            long usedBytes = 0, claimed = 0;
            foreach (var c in packClaims.Where(c => !_foreignClaims.Contains(c)))
            {
                var claim = _repo.Index.GetClaim(c);
                long u = 0, all = 0;
                for (int i = 0; i < claim.Count; i++)
                {
                    long length = _repo.Index.EntryLocation(claim.FirstEntry + i).StoredLength;
                    all += length;
                    if (used.IsUsed(claim.FirstEntry + i)) u += length;
                }
                if (u > usedBytes || (u == usedBytes && all > claimed)) (usedBytes, claimed) = (u, all);
            }
            if (usedBytes == 0)
            {
                if (WaitsForMinimumDuration(packId, obj, plans, "no trusted snapshot uses it")) continue;
                plans[packId] = new PackPlan(packId, PackAction.Mark, obj.Size, 0, obj.Size, false, NoSnapshotUsesIt);
                whollyUnused += obj.Size;
                continue;
            }
            // A claim can say anything about lengths; the pack's size bounds what it can hold.
            long unused = Math.Clamp(Math.Min(claimed, obj.Size) - usedBytes, 0, obj.Size);
            usedTotal += usedBytes;
            overhead += obj.Size - usedBytes - unused;
            if (unused == 0) continue;
            if (_classes.TryGetValue(packId, out var storageClass) && StorageClasses.IsArchive(storageClass))
            {
                // Repacking reads the pack: an archived one would need a retrieval first (hours, and a fee), so it stays,
                // and its unused bytes do not drive the repacking of hot packs.
                if (!_archivedIn.TryGetValue(storageClass, out var archived))
                    _archivedIn[storageClass] = archived = PackReason.AfterShare($", but archived in {storageClass}: never repacked (that would need a retrieval)");
                plans[packId] = new PackPlan(packId, PackAction.Keep, obj.Size, usedBytes, unused, false, archived);
                _report.ArchivedPacksKept++;
                continue;
            }
            unusedTotal += unused;
            partly.Add((packId, obj.Size, usedBytes, unused));
        }

        long limit = _options.MaxUnused.LimitFor(usedTotal);
        long left = unusedTotal, repackSize = 0, repackOverhead = 0;
        long cap = _options.MaxRepackSize ?? long.MaxValue;
        // Emptiest first: each byte repacked frees the most unused space.
        foreach (var p in partly.OrderByDescending(p => (double)p.Unused / p.Size).ThenBy(p => p.Size))
        {
            if (left <= limit)
                plans[p.Pack] = new PackPlan(p.Pack, PackAction.Keep, p.Size, p.Used, p.Unused, false, _withinBudget);
            else if (repackSize + p.Size > cap)
                plans[p.Pack] = new PackPlan(p.Pack, PackAction.Keep, p.Size, p.Used, p.Unused, false, _capReached);
            else
            {
                plans[p.Pack] = new PackPlan(p.Pack, PackAction.Repack, p.Size, p.Used, p.Unused, false, _repacked);
                left -= p.Unused;
                repackSize += p.Size;
                repackOverhead += p.Size - p.Used - p.Unused;
            }
        }
        return new Budget(usedTotal, unusedTotal + whollyUnused, left, limit, overhead, repackOverhead);
    }

    /// <summary>
    /// Packs in data/ that no trusted index file lists, older than the grace period and the max backup age: left by
    /// interrupted backups, or by a writer whose claims do not count. None while an index file could not be read: it
    /// might list them.
    /// </summary>
    private long FindOrphanPacks(Dictionary<ObjectId, PruneMark> markedBy, Dictionary<ObjectId, ListedPack> stored, Dictionary<ObjectId, PackPlan> plans)
    {
        if (!_repo.IndexReport.Complete)
        {
            _report.Notes.Add("packs that no index lists are kept this time, because an index file could not be read.");
            return 0;
        }
        var cutoff = Now - Max(_options.Grace, _options.MaxBackupAge);
        long bytes = 0;
        foreach (var (id, o) in stored)
        {
            if (_repo.Index.ContainsPack(id) || markedBy.ContainsKey(id) || o.LastModified >= cutoff) continue;
            if (WaitsForMinimumDuration(id, o, plans, "no index lists it")) continue;
            plans[id] = new PackPlan(id, PackAction.Mark, o.Size, 0, o.Size, false, NoIndexListsIt);
            bytes += o.Size;
            _report.OrphanPacks++;
        }
        return bytes;
    }

    /// <summary>
    /// An unused pack in a class with a minimum storage duration is not marked before that duration has passed since it
    /// was stored (deleting it earlier saves nothing: AWS charges the rest), unless told to ignore it. It stays, with when.
    /// </summary>
    private bool WaitsForMinimumDuration(ObjectId packId, ListedPack obj, Dictionary<ObjectId, PackPlan> plans, string why)
    {
        if (_options.IgnoreMinStorageDuration || !_classes.TryGetValue(packId, out var storageClass)) return false;
        var until = obj.LastModified + StorageClasses.MinimumStorageDuration(storageClass);
        if (until <= Now) return false;
        plans[packId] = new PackPlan(packId, PackAction.Keep, obj.Size, 0, obj.Size, false, PackReason.Of(
            $"{why}, but it is in {storageClass} since {obj.LastModified:u}: marked by a prune after {until:u} (minimum storage duration; --ignore-min-storage-duration marks it now)"));
        _report.PacksWaitingMinDuration++;
        return true;
    }

    internal static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// Marks whose grace period has passed (by the storage's clock and the admin's) and that no running backup blocks.
    /// The packs of the others are pending, with the reason.
    /// </summary>
    private List<PruneMark> ExpiredMarks(IReadOnlyList<PruneMark> marks, List<BackupMarker> markers, HashSet<ObjectId> finished,
        Dictionary<ObjectId, PruneMark> markedBy, Dictionary<ObjectId, ListedPack> stored, Dictionary<ObjectId, PackPlan> plans)
    {
        var now = Now;
        var expired = new List<PruneMark>();
        var pending = new List<(PruneMark Mark, PackReason Why)>();
        foreach (var m in marks)
        {
            // Both the storage's clock and the admin's must agree the grace period has passed.
            if (m.StoredAt + _options.Grace > now || m.MarkedAt + _options.Grace > now)
            {
                pending.Add((m, PackReason.Of($"marked {m.StoredAt:u}; deleted by a prune after {Latest(m.StoredAt, m.MarkedAt) + _options.Grace:u}")));
                continue;
            }
            // A backup that announced itself before the mark was stored may have read an index listing these packs.
            // Only markers of trusted signers count: an unknown or revoked writer's cannot hold deletion back.
            var running = markers.Where(b => b.Signer.IsTrusted && !finished.Contains(b.Id) && b.StoredAt <= m.StoredAt && now - b.StoredAt < _options.MaxBackupAge).ToList();
            if (running.Count > 0 && _options.Grace > TimeSpan.Zero)
            {
                pending.Add((m, PackReason.Of($"marked {m.StoredAt:u}; waits for {running.Count} backup(s) still running")));
                _report.Notes.Add($"mark {m.Id.ToShortString()} waits for {running.Count} backup(s) still running, e.g. from host '{running[0].Host}' since {running[0].StartedAt:u}");
                continue;
            }
            expired.Add(m);
        }
        _report.MarksPending = pending.Count;
        // A pack that an expired mark and a pending one both list is decided by the expired one.
        foreach (var m in expired)
            foreach (var p in m.Packs) markedBy[p] = m;
        var expiring = expired.SelectMany(m => m.Packs).ToHashSet();
        foreach (var (m, why) in pending)
            foreach (var p in m.Packs)
                if (!expiring.Contains(p) && stored.TryGetValue(p, out var o))
                    plans.TryAdd(p, new PackPlan(p, PackAction.Pending, o.Size, 0, 0, false, why));
        return expired;
    }

    private static DateTimeOffset Latest(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

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
}
