using System.Collections.Concurrent;
using System.Threading.Channels;
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
    private readonly PrunePlan _plan;
    private readonly PruneOptions _options;
    private readonly PruneReport _report;

    private Pruner(Repo repo, IMaintenanceStorage storage, PrunePlan plan)
    {
        _repo = repo;
        _storage = storage;
        _plan = plan;
        _options = plan.Options;
        _report = plan.Report;
    }

    /// <summary>Plans, and unless <see cref="PruneOptions.DryRun"/>, executes the plan. The report carries the plan.</summary>
    /// <param name="archive">The store's storage classes (S3), so archived packs are never repacked; null for a local folder.</param>
    public static async Task<PruneReport> RunAsync(Repo repo, IMaintenanceStorage storage, PruneOptions options, CancellationToken ct = default, IArchiveStorage? archive = null)
    {
        var plan = await PlanAsync(repo, storage, options, ct, archive).ConfigureAwait(false);
        return options.DryRun ? plan.Report : await ExecuteAsync(repo, storage, plan, ct).ConfigureAwait(false);
    }

    /// <summary>Decides every pack's fate and writes nothing (see <see cref="PrunePlan"/>).</summary>
    public static async Task<PrunePlan> PlanAsync(Repo repo, IMaintenanceStorage storage, PruneOptions options, CancellationToken ct = default, IArchiveStorage? archive = null)
    {
        repo.Keys.RequireReadKey("prune (it must read every snapshot)");
        var plan = await new PrunePlanner(repo, storage, options, archive).PlanAsync(ct).ConfigureAwait(false);
        // In the plan, so that --dry-run says it too.
        if (options.Grace != TimeSpan.Zero && options.Grace - options.MaxBackupAge < Dedup.Repository.PutOnly.PutOnlyRules.ResumeWindow)
            plan.Report.Notes.Add($"grace {options.Grace.TotalHours:0.#} h with max backup age {options.MaxBackupAge.TotalHours:0.#} h is unsafe with put-only hosts: "
                                  + $"they resume killed backups for {Dedup.Repository.PutOnly.PutOnlyRules.ResumeWindow.TotalHours:0} h on the defaults (48 h and 24 h); see spec prune-protocol 'Put-only writers'.");
        return plan;
    }

    /// <summary>
    /// Carries out a plan made by <see cref="PlanAsync"/> on the same repository object: repacks, writes the mark,
    /// deletes what the plan deletes. It deletes nothing the plan does not list; it keeps more where a repacked blob
    /// does not open (that pack is not marked) or where the index, read again after the mark, shows a pack still needed.
    /// </summary>
    public static Task<PruneReport> ExecuteAsync(Repo repo, IMaintenanceStorage storage, PrunePlan plan, CancellationToken ct = default)
    {
        if (plan.Options.DryRun) throw new InvalidOperationException("a dry run's plan is not executed");
        return new Pruner(repo, storage, plan).ExecuteAsync(ct);
    }

    private DateTimeOffset Now => _repo.Clock.GetUtcNow();

    private async Task<PruneReport> ExecuteAsync(CancellationToken ct)
    {
        // Phase 1: copy what the repacked packs still hold, then mark.
        var repack = _plan.Packs.Where(p => p.Action == PackAction.Repack).Select(p => p.Pack).ToList();
        var repacked = repack.Count > 0 ? await RepackAsync(repack, ct).ConfigureAwait(false) : [];
        var failed = repack.Except(repacked).ToHashSet();
        var toMark = _plan.Packs.Where(p => p.Action == PackAction.Mark).Select(p => p.Pack).Concat(repacked).ToList();
        var finishedMarks = _plan.ExpiredMarks.Select(m => PruneMark.Prefix + m.Id).ToList();
        if (toMark.Count > 0)
        {
            var bytes = PruneMark.Seal(Now, toMark, _repo.Keys);
            var name = PruneMark.Prefix + ObjectId.HashOf(bytes);
            await _storage.PutAsync(name, bytes, ct).ConfigureAwait(false);
            _report.PacksMarked = toMark.Count;
            // With grace 0 the new mark expires at once: its packs are decided below, and it goes with the others.
            if (_options.Grace == TimeSpan.Zero) finishedMarks.Add(name);
        }

        // Phase 2: delete what the plan deletes, once more checked against the index as it is now (it knows the new mark
        // and the repacked copies, and any backup finished since).
        var delete = _plan.Packs.Where(p => p.DeletedThisRun && !failed.Contains(p.Pack)).Select(p => p.Pack).ToHashSet();
        _report.PacksRecovered = _plan.Count(PackAction.Recover);
        if (delete.Count > 0)
        {
            var keep = await StillNeededAsync(delete, ct).ConfigureAwait(false);
            delete.ExceptWith(keep.Keys);
            _report.PacksRecovered += keep.Count;
            foreach (var (pack, why) in keep) _report.Notes.Add($"{Layout.Pack(pack)} is kept although the plan deleted it: {why}.");
        }
        if (finishedMarks.Count > 0)
        {
            // Order (spec, "Crashes"): compacted index, old index files, packs, and the marks last. Packs an expired mark
            // lists that stay (recovered) become unmarked when it goes.
            await CompactIndexAsync(delete, ct).ConfigureAwait(false);
            _report.BytesFreed += await DeletePacksAsync(delete, ct).ConfigureAwait(false);
            foreach (var name in finishedMarks) await _storage.DeleteAsync(name, ct).ConfigureAwait(false);
            _report.MarksCompleted = finishedMarks.Count;
        }
        _report.MarksPending = _plan.MarksPending;
        await CleanUpAsync(_plan.Markers, _plan.FinishedMarkers, ct).ConfigureAwait(false);
        if (_options.Grace == TimeSpan.Zero)
            _report.Notes.Add("grace 0: packs were deleted without waiting; this is safe only if no backup was running.");
        var notes = _report.Notes.Distinct().ToList();
        _report.Notes.Clear();
        _report.Notes.AddRange(notes);
        return _report;
    }

    /// <summary>
    /// The packs of <paramref name="delete"/> that the index as it is now still needs, and why. A method of its own so
    /// that the second index table (disposed here) and the listing it loads are gone once it returns: an async method's
    /// locals live until it ends, and these would otherwise stay through the compaction (at 10M blobs, ~0.6 GiB).
    /// </summary>
    private async Task<Dictionary<ObjectId, string>> StillNeededAsync(HashSet<ObjectId> delete, CancellationToken ct)
    {
        var marks = await _repo.LoadMarksAsync(ct).ConfigureAwait(false);
        using var view = new IndexTable();
        await _repo.LoadIndexIntoAsync(view, marks.SelectMany(m => m.Packs).ToHashSet(), ct).ConfigureAwait(false);
        var present = await ListPacksAsync(_storage, ct).ConfigureAwait(false);
        return await _plan.Verifier.NeededPacksAsync(delete, _plan.Used, view, present, _plan.ForeignClaims, new HashSet<ObjectId>(), ct).ConfigureAwait(false);
    }

    /// <summary>The packs in data/ by ID, with their sizes and times (names are not kept: they are the IDs').</summary>
    internal static async Task<Dictionary<ObjectId, ListedPack>> ListPacksAsync(IStorage storage, CancellationToken ct)
    {
        var stored = new Dictionary<ObjectId, ListedPack>();
        await foreach (var obj in storage.ListAsync(Layout.DataPrefix, ct).ConfigureAwait(false))
            if (Layout.TryParseId(obj.Name, out var id)) stored[id] = new ListedPack(obj.Size, obj.LastModified);
        return stored;
    }

    internal static async Task<long> StoredBytesAsync(IStorage storage, string prefix, CancellationToken ct)
    {
        long total = 0;
        await foreach (var obj in storage.ListAsync(prefix, ct).ConfigureAwait(false)) total += obj.Size;
        return total;
    }

    /// <summary>
    /// Copies the used blobs of the packs to repack into new packs (one writer per domain, claimed with the full key's
    /// origin), reading each from the very pack being repacked and verifying it under its domain's key. The packs are read
    /// through the shared read path (<see cref="PackStreamer.StreamAtAsync{T}"/>): merged ranges, several at once
    /// (<see cref="PruneOptions.RepackParallelism"/>), memory bounded by the ranges in flight; a blob wanted by two packs
    /// is copied once. Returns the packs whose every used blob was copied: only those may be marked. A used blob that
    /// does not open where a claim says is reported, and every pack that wanted it is kept.
    /// </summary>
    private async Task<List<ObjectId>> RepackAsync(List<ObjectId> packs, CancellationToken ct)
    {
        var writers = new Dictionary<DomainId, RepositoryWriter>();
        var copied = new HashSet<(ObjectId, DomainId)>();
        var kept = new ConcurrentDictionary<ObjectId, string>();
        var wants = new List<(ObjectId, BlobLocation, (ObjectId Pack, BlobType Type))>();
        foreach (var packId in packs)
        {
            foreach (var c in _plan.Claims.Of(packId).Where(c => !_plan.ForeignClaims.Contains(c)))
            {
                var claim = _repo.Index.GetClaim(c);
                for (int i = 0; i < claim.Count; i++)
                {
                    int entry = claim.FirstEntry + i;
                    if (_plan.Used.IsUsed(entry)) wants.Add((_repo.Index.EntryId(entry), _repo.Index.EntryLocation(entry), (packId, claim.Type)));
                }
            }
        }
        // The packs are read in parallel through the shared read path; the writers take one blob at a time.
        using var gate = new SemaphoreSlim(1, 1);
        var streamer = _repo.Streamer(new PackStreamerOptions { RangesInFlight = Math.Max(1, _options.RepackParallelism) });
        try
        {
            await streamer.StreamAtAsync(wants, async (blob, plain, from, token) =>
            {
                await gate.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    if (!copied.Add((blob.Id, blob.Domain))) return;
                    if (!writers.TryGetValue(blob.Domain, out var writer)) writers[blob.Domain] = writer = _repo.StartWriting(blob.Domain);
                    await writer.AddAsync(from[0].Type, blob.Id, plain, token).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            }, (blob, error, from) =>
            {
                var reason = error is CorruptObjectException c ? c.Reason : error.Message;
                foreach (var (packId, _) in from)
                    kept.TryAdd(packId, $"{Layout.Pack(packId)} is kept: blob {blob.Id.ToShortString()} does not open where an index claim says ({reason}). Run 'dedup check --read-data'.");
            }, ct).ConfigureAwait(false);
            foreach (var w in writers.Values) await w.FlushAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            foreach (var w in writers.Values) await w.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var packId in packs)
            if (kept.TryGetValue(packId, out var note)) _report.Notes.Add(note);
        var done = packs.Where(p => !kept.ContainsKey(p)).ToList();
        _report.PacksRepacked = done.Count;
        return done;
    }

    /// <summary>
    /// Writes index files for every trusted claim that stays (one set per domain, signed by the repository key, each claim
    /// keeping its origin, so a writer's claim is never promoted by being relayed), then deletes the index files that were
    /// read, and those whose signer is not trusted. Damaged files are left for 'repair index'. Streamed: as the files are
    /// read, each domain's claims are cut into files of <see cref="PruneOptions.PacksPerIndexFile"/>, and each full one
    /// goes through a short queue to be sealed and stored while the reading goes on. What is held is one unfinished file
    /// per domain, the few in the queue and the set that writes each claim once, never every claim (at 10M blobs that was
    /// about the index a second time). Old files go only once every new one is stored (spec, "Crashes"); a new file
    /// whose name equals an old one's is kept.
    /// </summary>
    private async Task CompactIndexAsync(HashSet<ObjectId> deleting, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var files = Channel.CreateBounded<(DomainId Domain, IndexPack[] Packs)>(new BoundedChannelOptions(2) { SingleReader = true });
        var written = new HashSet<string>();
        var writing = WriteIndexFilesAsync(files.Reader, written, stop);
        IndexLoadReport loaded;
        try
        {
            loaded = await ReadClaimsToKeepAsync(deleting, files.Writer, stop.Token).ConfigureAwait(false);
            files.Writer.Complete();
        }
        catch
        {
            files.Writer.TryComplete();
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await writing.ConfigureAwait(false); // a failed put is what stopped the reading: that is the error to report
            }
            catch (OperationCanceledException)
            {
            }
            throw;
        }
        await writing.ConfigureAwait(false);
        foreach (var name in loaded.Files.Concat(loaded.Untrusted.Select(u => u.Name)).Where(n => !written.Contains(n)).Distinct())
        {
            await _storage.DeleteAsync(name, ct).ConfigureAwait(false);
            _report.IndexFilesDeleted++;
        }
    }

    /// <summary>
    /// Reads every index file and queues the claims that stay, once each, a full file's worth per domain at a time. The
    /// reading callback only sorts a claim in under the lock; a reader that finds the queue full waits outside it.
    /// </summary>
    private async Task<IndexLoadReport> ReadClaimsToKeepAsync(HashSet<ObjectId> deleting, ChannelWriter<(DomainId, IndexPack[])> files, CancellationToken ct)
    {
        int perFile = _options.PacksPerIndexFile;
        var gate = new Lock();
        var open = new Dictionary<DomainId, List<IndexPack>>();
        var seen = new HashSet<(ObjectId, DomainId, ObjectId)>();
        var report = new IndexLoadReport.Builder();
        await _repo.ForEachIndexFileAsync((_, p, domain, _) =>
        {
            if (deleting.Contains(p.PackId)) return;
            var digest = ClaimDigest(p);
            IndexPack[]? full = null;
            lock (gate)
            {
                // The same claim often stands in several files (a writer's and a compacted copy); write it once.
                if (!seen.Add((p.PackId, domain, digest))) return;
                if (!open.TryGetValue(domain, out var list)) open[domain] = list = new List<IndexPack>(perFile);
                list.Add(p);
                if (list.Count >= perFile)
                {
                    full = [.. list];
                    list.Clear();
                }
            }
            // The callback is synchronous: a full queue holds up this reader (and bounds what is read ahead) until
            // the writer takes a file.
            if (full is not null && !files.TryWrite((domain, full))) files.WriteAsync((domain, full), ct).AsTask().GetAwaiter().GetResult();
        }, report, ct).ConfigureAwait(false);
        foreach (var (domain, list) in open)
            if (list.Count > 0) await files.WriteAsync((domain, [.. list]), ct).ConfigureAwait(false);
        return report.Build();
    }

    /// <summary>Seals and stores the queued index files in turn, recording their names; on failure stops the reading.</summary>
    private async Task WriteIndexFilesAsync(ChannelReader<(DomainId Domain, IndexPack[] Packs)> files, HashSet<string> written, CancellationTokenSource stop)
    {
        try
        {
            await foreach (var (domain, packs) in files.ReadAllAsync(stop.Token).ConfigureAwait(false))
            {
                var bytes = IndexFile.Seal(packs, _repo.Keys.For(domain), _repo.Keys);
                var name = Layout.Index(ObjectId.HashOf(bytes));
                await _storage.PutAsync(name, bytes, stop.Token).ConfigureAwait(false);
                written.Add(name);
                _report.IndexFilesWritten++;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            throw;
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
        _report.UploadsAborted = await _storage.AbortIncompleteUploadsAsync(PrunePlanner.Max(_options.Grace, TimeSpan.FromHours(1)), ct).ConfigureAwait(false);
    }
}
