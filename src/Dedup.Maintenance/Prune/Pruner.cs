using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Maintenance.Prune;

/// <summary>
/// Lock-free, two-phase prune (spec "Prune"). It plans first and then acts, and every step is safe to kill:
/// <list type="number">
/// <item>Mark: packs no snapshot needs, packs mostly unused (after their live blobs are copied to new packs) and old
/// unindexed packs are listed in a signed, create-only mark. Clients treat blobs found only in marked packs as absent.</item>
/// <item>Delete: a mark older than the grace period, with no backup that started before it still running, has its
/// packs deleted unless a snapshot written since needs them. Order: compacted index files, then the old index
/// files, then the packs, then the mark; a crash at any point leaves a repository the next run finishes.</item>
/// </list>
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
        // finds its blobs in the index read next, even when backups finish in between. (The other order made prune
        // stop with "missing data" whenever a backup finished between the two reads.) A backup that finishes after
        // the snapshots were read has packs that look unused: they are only marked, and the grace period, its
        // backup marker and the next run's snapshots keep them.
        var markers = await LoadMarkersAsync(ct).ConfigureAwait(false);
        var snapshots = await LoadSnapshotsAsync(ct).ConfigureAwait(false);
        await _repo.LoadIndexAsync(ct, strict: true).ConfigureAwait(false);
        var used = new UsedBlobs(_repo.Index);
        foreach (var s in snapshots) await used.AddSnapshotAsync(_repo, s, ct).ConfigureAwait(false);
        _report.Snapshots = snapshots.Count;
        _report.BlobsUsed = used.Count;
        _report.BlobsTotal = _repo.Index.Count;

        // Phase 1: plan and write a new mark.
        var alreadyMarked = _repo.Marks.SelectMany(m => m.Packs).ToHashSet();
        var (unused, repack) = Classify(used, alreadyMarked);
        var orphans = await FindOrphanPacksAsync(alreadyMarked, ct).ConfigureAwait(false);
        var toMark = unused.Concat(repack).Concat(orphans).Distinct().ToList();
        if (!_options.DryRun && toMark.Count > 0)
        {
            if (repack.Count > 0) await RepackAsync(repack, used, ct).ConfigureAwait(false);
            var bytes = PruneMark.Seal(Now, toMark, _repo.Keys);
            await _storage.PutAsync(PruneMark.Prefix + ObjectId.HashOf(bytes), bytes, ct).ConfigureAwait(false);
            _report.PacksMarked = toMark.Count;
        }

        // Phase 2: delete what marks old enough allow, using a fresh view of the index that includes the new mark.
        if (!_options.DryRun) await DeleteExpiredAsync(used, markers, snapshots, ct).ConfigureAwait(false);
        if (_options.Grace == TimeSpan.Zero)
            _report.Notes.Add("grace 0: packs were deleted without waiting; this is safe only if no backup was running.");
        return _report;
    }

    private async Task<List<LoadedSnapshot>> LoadSnapshotsAsync(CancellationToken ct)
    {
        // Every snapshot counts, trusted or not: prune never deletes data something still refers to. A snapshot that
        // cannot be read stops prune, because what it refers to is unknown.
        var damaged = new List<string>();
        var all = await _repo.Snapshots.LoadAllAsync((id, e) => { lock (damaged) damaged.Add($"{id.ToShortString()}: {e.Reason}"); }, ct).ConfigureAwait(false);
        if (damaged.Count > 0)
            throw new RepositoryException($"Prune stopped without deleting anything: {damaged.Count} snapshot(s) cannot be read ({damaged[0]}). Run 'dedup check', then 'dedup forget' the damaged snapshot or 'dedup repair'.");
        return all;
    }

    private async Task<List<BackupMarker>> LoadMarkersAsync(CancellationToken ct)
    {
        var markers = new List<BackupMarker>();
        await foreach (var obj in _storage.ListAsync(BackupMarker.Prefix, ct).ConfigureAwait(false))
        {
            if (!Layout.TryParseId(obj.Name, out var id)) continue;
            try
            {
                var bytes = await StoredObjects.ReadVerifiedAsync(_storage, obj.Name, id, 64 * 1024, ct).ConfigureAwait(false);
                markers.Add(BackupMarker.Open(bytes, id, obj.LastModified, _repo.Keys, obj.Name));
            }
            catch (CorruptObjectException)
            {
                // An unreadable marker cannot announce anything; treat it as a backup started when it was stored.
                markers.Add(new BackupMarker(id, obj.LastModified, obj.LastModified, "?"));
            }
            catch (ObjectNotFoundException)
            {
            }
        }
        return markers;
    }

    /// <summary>Packs with no needed blob, and packs whose unused share reaches the repack threshold.</summary>
    private (List<ObjectId> Unused, List<ObjectId> Repack) Classify(UsedBlobs used, HashSet<ObjectId> alreadyMarked)
    {
        var packs = _repo.Index.Packs();
        var usedBytes = new long[packs.Count];
        var totalBytes = new long[packs.Count];
        int entry = 0;
        foreach (var (_, loc) in _repo.Index.Blobs())
        {
            totalBytes[loc.PackIndex] += loc.StoredLength;
            if (used.IsUsed(entry)) usedBytes[loc.PackIndex] += loc.StoredLength;
            entry++;
        }
        var unused = new List<ObjectId>();
        var repack = new List<ObjectId>();
        for (int i = 0; i < packs.Count; i++)
        {
            if (alreadyMarked.Contains(packs[i].Id)) continue;
            if (usedBytes[i] == 0)
            {
                unused.Add(packs[i].Id);
                _report.BytesUnused += totalBytes[i];
            }
            else if (totalBytes[i] - usedBytes[i] >= _options.RepackUnusedFraction * totalBytes[i])
            {
                repack.Add(packs[i].Id);
                _report.BytesUnused += totalBytes[i] - usedBytes[i];
                _report.BytesRepacked += usedBytes[i];
            }
        }
        _report.PacksTotal = packs.Count;
        _report.PacksUnused = unused.Count;
        _report.PacksToRepack = repack.Count;
        return (unused, repack);
    }

    /// <summary>Packs in data/ that no index lists, older than the grace period: left by interrupted backups.</summary>
    private async Task<List<ObjectId>> FindOrphanPacksAsync(HashSet<ObjectId> alreadyMarked, CancellationToken ct)
    {
        var orphans = new List<ObjectId>();
        var cutoff = Now - Max(_options.Grace, _options.MaxBackupAge);
        await foreach (var obj in _storage.ListAsync(Layout.DataPrefix, ct).ConfigureAwait(false))
            if (Layout.TryParseId(obj.Name, out var id) && !_repo.Index.ContainsPack(id) && !alreadyMarked.Contains(id) && obj.LastModified < cutoff)
                orphans.Add(id);
        _report.OrphanPacks = orphans.Count;
        return orphans;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>Copies the needed blobs of mostly-unused packs into new packs, which the writer indexes.</summary>
    private async Task RepackAsync(List<ObjectId> packs, UsedBlobs used, CancellationToken ct)
    {
        var targets = packs.ToHashSet();
        var blobs = new List<(ObjectId Id, BlobType Type)>();
        int entry = 0;
        foreach (var (id, loc) in _repo.Index.Blobs())
        {
            if (used.IsUsed(entry) && targets.Contains(loc.PackId)) blobs.Add((id, loc.Type));
            entry++;
        }
        await using var writer = _repo.StartWriting();
        foreach (var (id, type) in blobs)
        {
            using var plain = await _repo.Blobs.ReadAsync(id, ct).ConfigureAwait(false);
            await writer.AddAsync(type, id, plain.Memory, ct).ConfigureAwait(false);
        }
        await writer.FlushAsync(ct).ConfigureAwait(false);
    }

    private async Task DeleteExpiredAsync(UsedBlobs used, List<BackupMarker> markers, List<LoadedSnapshot> snapshots, CancellationToken ct)
    {
        var marks = await _repo.LoadMarksAsync(ct).ConfigureAwait(false);
        var now = Now;
        var finished = snapshots.Select(s => s.Info.Session).OfType<string>().ToHashSet();
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
            var running = markers.Where(b => !finished.Contains(b.Id.ToString()) && b.StoredAt <= m.StoredAt && now - b.StoredAt < _options.MaxBackupAge).ToList();
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

        // A fresh view that knows every mark, so each needed blob resolves to an unmarked copy when one exists.
        var view = new IndexTable();
        var allMarked = marks.SelectMany(m => m.Packs).ToHashSet();
        await _repo.LoadIndexIntoAsync(view, allMarked, ct).ConfigureAwait(false);
        var needed = new HashSet<ObjectId>();
        int entry = 0;
        foreach (var (id, _) in _repo.Index.Blobs())
        {
            if (used.IsUsed(entry) && view.TryGet(id, out var loc)) needed.Add(loc.PackId);
            entry++;
        }
        var candidates = expired.SelectMany(m => m.Packs).ToHashSet();
        var delete = candidates.Where(p => !needed.Contains(p)).ToHashSet();
        _report.PacksRecovered = candidates.Count - delete.Count;

        await CompactIndexAsync(delete, ct).ConfigureAwait(false);
        var sizes = await DeletePacksAsync(delete, ct).ConfigureAwait(false);
        _report.BytesFreed += sizes;
        foreach (var m in expired) await _storage.DeleteAsync(PruneMark.Prefix + m.Id, ct).ConfigureAwait(false);
        _report.MarksCompleted = expired.Count;
        await CleanUpAsync(markers, finished, ct).ConfigureAwait(false);
    }

    /// <summary>Writes index files for every pack that stays, then deletes the index files that were read.</summary>
    private async Task CompactIndexAsync(HashSet<ObjectId> deleting, CancellationToken ct)
    {
        var seen = new HashSet<ObjectId>();
        var batch = new List<IndexPack>();
        var read = new List<string>();
        var gate = new Lock();
        var packs = new List<IndexPack>();
        await _repo.ForEachIndexFileAsync((_, p) => { lock (gate) if (!deleting.Contains(p.PackId) && seen.Add(p.PackId)) packs.Add(p); },
            name => { lock (gate) read.Add(name); }, ct).ConfigureAwait(false);
        foreach (var chunk in packs.Chunk(_options.PacksPerIndexFile))
        {
            var bytes = IndexFile.Seal(chunk, _repo.Keys);
            var name = Layout.Index(ObjectId.HashOf(bytes));
            await _storage.PutAsync(name, bytes, ct).ConfigureAwait(false);
            read.Remove(name); // identical content: the same file, keep it
            _report.IndexFilesWritten++;
        }
        foreach (var name in read)
        {
            await _storage.DeleteAsync(name, ct).ConfigureAwait(false);
            _report.IndexFilesDeleted++;
        }
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

    /// <summary>Removes markers of finished or dead backups, and multipart uploads abandoned longer than the grace period.</summary>
    private async Task CleanUpAsync(List<BackupMarker> markers, HashSet<string> finished, CancellationToken ct)
    {
        var now = Now;
        foreach (var m in markers.Where(m => finished.Contains(m.Id.ToString()) || now - m.StoredAt >= _options.MaxBackupAge))
        {
            await _storage.DeleteAsync(BackupMarker.Prefix + m.Id, ct).ConfigureAwait(false);
            _report.MarkersRemoved++;
        }
        _report.UploadsAborted = await _storage.AbortIncompleteUploadsAsync(Max(_options.Grace, TimeSpan.FromHours(1)), ct).ConfigureAwait(false);
    }
}
