using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Check;

/// <summary>
/// Verifies a repository as restic's check does, reporting every problem instead of stopping at the first:
/// the config and key files; every index file (loaded one by one so a damaged one is named); that every indexed
/// pack exists with the size its index implies and a header that agrees; every snapshot's envelope and signature;
/// every tree reachable from a snapshot; and that every blob a file needs is indexed. With ReadData it also reads
/// every pack whole (<see cref="PackDataCheck"/>). Damage is then mapped to the snapshots and files it affects.
/// Check only reads: it never writes or deletes.
/// </summary>
public static class Checker
{
    public static async Task<CheckResult> RunAsync(Repo repo, CheckOptions options, CancellationToken ct = default)
    {
        var log = new ProblemLog();
        var progress = options.Progress ?? new CheckProgress();
        options.Log?.Report("checking config and keys");
        await CheckConfigAsync(repo, log, ct).ConfigureAwait(false);
        await CheckKeysAsync(repo, log, ct).ConfigureAwait(false);

        // Snapshots are listed before the index is read: a backup stores its index files before its snapshot, so a backup
        // that finishes during the check cannot look as if it lost data (its snapshot is simply not checked this time).
        var snapshotList = await repo.Snapshots.ListAsync(ct).ConfigureAwait(false);
        foreach (var replayed in await repo.Snapshots.ListReplayedAsync(ct).ConfigureAwait(false))
            // A warning, not damage: an interrupted forget leaves exactly this (its tombstone is stored before the delete).
            log.Add(Layout.Snapshot(replayed), "it was forgotten (a tombstone buries it) and is still or again stored: an interrupted forget, or a replay by a host that kept a copy. It is ignored; the next 'dedup forget' removes it", warning: true);

        options.Log?.Report("loading index files");
        var table = new IndexTable();
        var packs = await LoadIndexFilesAsync(repo, table, log, ct).ConfigureAwait(false);
        var marked = (await repo.LoadMarksAsync(ct).ConfigureAwait(false)).SelectMany(m => m.Packs).ToHashSet();

        options.Log?.Report("checking packs");
        var stored = new Dictionary<ObjectId, long>();
        await foreach (var obj in repo.Storage.ListAsync(Layout.DataPrefix, ct).ConfigureAwait(false))
        {
            if (Layout.TryParseId(obj.Name, out var id) && obj.Name == Layout.Pack(id)) stored[id] = obj.Size;
            else log.Add(obj.Name, "not a pack name; ignored", warning: true);
        }
        // Locations (index entries) a reader would fail to read from, with the object to blame: filled by the pack checks,
        // used to map damage to files. A blob is lost only when every location of it is bad.
        var badBlobs = new BadLocations();
        await PackStructureCheck.RunAsync(repo, packs, stored, marked, table, badBlobs, log, progress, ct).ConfigureAwait(false);

        long blobsVerified = 0, packsSelected = 0;
        if (options.ReadData)
        {
            var toRead = options.ReadDataSubset is { } subset ? subset.Select(stored, options.Random) : stored.ToList();
            packsSelected = toRead.Count;
            options.Log?.Report(options.ReadDataSubset is null ? "reading all packs" : $"reading {options.ReadDataSubset} ({toRead.Count} of {stored.Count} packs)");
            if (options.ReadAsThawed is null)
                blobsVerified = await PackDataCheck.RunAsync(repo, packs, toRead, table, badBlobs, log, progress, options.ReadConcurrency, ct).ConfigureAwait(false);
            else
                blobsVerified = await ReadAsThawedAsync(repo, packs, toRead, table, badBlobs, log, progress, options, ct).ConfigureAwait(false);
        }

        options.Log?.Report("checking snapshots");
        var snapshots = await LoadSnapshotsAsync(repo, snapshotList, log, progress, ct).ConfigureAwait(false);

        options.Log?.Report("checking trees");
        using var reader = new BlobReader(repo.Storage, table, repo.Keys);
        var trees = new TreeCheck(table, reader, badBlobs, log);
        // Untrusted snapshots are reported (above) and not walked: nothing ever restores them by default, and their trees
        // may be anything a compromised host chose.
        foreach (var s in snapshots.Where(s => s.IsTrusted)) await trees.CheckSnapshotAsync(s, ct).ConfigureAwait(false);

        return new CheckResult
        {
            Problems = log.ToList(),
            PacksChecked = progress.PacksChecked,
            BlobsChecked = blobsVerified + trees.TreesLoaded,
            SnapshotsChecked = snapshots.Count,
            PacksRead = progress.PacksRead,
            PacksSelected = packsSelected,
        };
    }

    /// <summary>The packs a run with these options reads whole (none without ReadData; a random subset is chosen anew each call).</summary>
    public static async Task<IReadOnlyList<ObjectId>> PacksToReadAsync(Repo repo, CheckOptions options, CancellationToken ct = default)
    {
        if (!options.ReadData) return [];
        var stored = new Dictionary<ObjectId, long>();
        await foreach (var obj in repo.Storage.ListAsync(Layout.DataPrefix, ct).ConfigureAwait(false))
            if (Layout.TryParseId(obj.Name, out var id) && obj.Name == Layout.Pack(id)) stored[id] = obj.Size;
        return (options.ReadDataSubset is { } subset ? subset.Select(stored, options.Random) : stored.ToList()).Select(kv => kv.Key).ToList();
    }

    /// <summary>
    /// Reads the packs in the batches <see cref="CheckOptions.ReadAsThawed"/> yields, each pack once, whatever the batches
    /// repeat; a batch is verified before the next is asked for, so verifying starts with the first readable pack.
    /// </summary>
    private static async Task<long> ReadAsThawedAsync(Repo repo, Dictionary<ObjectId, List<IndexedClaim>> packs, IReadOnlyList<KeyValuePair<ObjectId, long>> toRead,
        IndexTable table, BadLocations badBlobs, ProblemLog log, CheckProgress progress, CheckOptions options, CancellationToken ct)
    {
        var unread = toRead.ToDictionary(kv => kv.Key, kv => kv.Value);
        long verified = 0;
        await foreach (var batch in options.ReadAsThawed!(unread.Keys.ToList(), ct).ConfigureAwait(false))
        {
            var now = batch.Where(unread.ContainsKey).Distinct().Select(id => new KeyValuePair<ObjectId, long>(id, unread[id])).ToList();
            foreach (var kv in now) unread.Remove(kv.Key);
            if (now.Count > 0) options.Log?.Report($"reading {now.Count} readable pack(s), {unread.Count} still to come");
            verified += await PackDataCheck.RunAsync(repo, packs, now, table, badBlobs, log, progress, options.ReadConcurrency, ct).ConfigureAwait(false);
        }
        // Packs the retrieval never handed out (it ended early): read them now, so each is verified or warned about as archived.
        if (unread.Count > 0)
            verified += await PackDataCheck.RunAsync(repo, packs, unread.ToList(), table, badBlobs, log, progress, options.ReadConcurrency, ct).ConfigureAwait(false);
        return verified;
    }

    /// <summary>The config was verified at open; reading it again catches a replacement since, and names it.</summary>
    private static async Task CheckConfigAsync(Repo repo, ProblemLog log, CancellationToken ct)
    {
        try
        {
            var bytes = await StoredObjects.ReadAllAsync(repo.Storage, Layout.Config, 1024 * 1024, ct).ConfigureAwait(false);
            RepositoryConfig.Parse(bytes);
            if (!ObjectId.HashOf(bytes).ToArray().AsSpan().SequenceEqual(repo.ConfigHash))
                log.Add(Layout.Config, "it changed since the repository was opened (replaced or modified)");
        }
        catch (CorruptObjectException e)
        {
            log.Add(Layout.Config, e.Reason);
        }
        catch (ObjectNotFoundException)
        {
            log.Add(Layout.Config, "missing");
        }
    }

    /// <summary>Other key files cannot be opened without their passwords, but their names, sizes and envelopes can be checked.</summary>
    private static async Task CheckKeysAsync(Repo repo, ProblemLog log, CancellationToken ct)
    {
        await foreach (var obj in repo.Storage.ListAsync(Layout.KeysPrefix, ct).ConfigureAwait(false))
        {
            if (!Layout.TryParseId(obj.Name, out var id))
            {
                log.Add(obj.Name, "not a key file name; ignored", warning: true);
                continue;
            }
            try
            {
                var bytes = await StoredObjects.ReadListedAsync(repo.Storage, obj.Name, id, KeyFile.MaxSize, ct).ConfigureAwait(false);
                var key = KeyFile.Parse(bytes, obj.Name);
                try
                {
                    key.KdfParameters.Validate();
                }
                catch (ArgumentException e)
                {
                    log.Add(obj.Name, e.Message);
                }
            }
            catch (CorruptObjectException e)
            {
                log.Add(obj.Name, e.Reason);
            }
            catch (ObjectNotFoundException)
            {
                // Removed by 'key remove' while we listed: not damage.
            }
        }
    }

    /// <summary>Loads every index file (each damaged or untrusted one is reported by name) and returns the claims per pack.</summary>
    private static async Task<Dictionary<ObjectId, List<IndexedClaim>>> LoadIndexFilesAsync(Repo repo, IndexTable table, ProblemLog log, CancellationToken ct)
    {
        var claims = new ConcurrentBag<IndexedClaim>();
        var report = new IndexLoadReport.Builder();
        // Only the claim number is kept beside the table: at 10M blobs the decoded entries would be ~0.6 GiB more.
        await repo.ForEachIndexFileAsync((name, pack, domain, _) => claims.Add(new IndexedClaim(table.AddPack(pack, domain), pack.PackId, domain)), report, ct).ConfigureAwait(false);
        var done = report.Build();
        foreach (var e in done.Damaged) log.Add(e.ObjectName, e.Reason);
        foreach (var u in done.Untrusted) log.Add(u.Name, $"its claims are ignored: {u.Reason} (signer {u.SignerIdentity})");
        await foreach (var obj in repo.Storage.ListAsync(Layout.IndexPrefix, ct).ConfigureAwait(false))
            if (!Layout.TryParseId(obj.Name, out _)) log.Add(obj.Name, "not an index file name; ignored", warning: true);
        return claims.DistinctBy(c => c.Claim).GroupBy(c => c.PackId).ToDictionary(g => g.Key, g => g.ToList());
    }

    private static async Task<List<LoadedSnapshot>> LoadSnapshotsAsync(Repo repo, List<(ObjectId Id, DateTimeOffset StoredAt)> listed, ProblemLog log,
        CheckProgress progress, CancellationToken ct)
    {
        var loaded = new List<LoadedSnapshot>();
        foreach (var (id, storedAt) in listed)
        {
            var name = Layout.Snapshot(id);
            try
            {
                var s = await repo.Snapshots.LoadAsync(id, storedAt, ct).ConfigureAwait(false);
                Interlocked.Increment(ref progress._snapshots);
                if (!s.IsTrusted)
                    log.Add(name, $"it is not trusted ({s.Header.Signer.Problem}); it claims host '{s.Info.Host}'. No command uses it unless asked with --include-untrusted");
                loaded.Add(s);
            }
            catch (CorruptObjectException e)
            {
                log.Add(name, e.Reason);
            }
            catch (ObjectNotFoundException)
            {
                // Forgotten while we listed.
            }
        }
        return loaded.OrderBy(s => s.EffectiveTime).ThenBy(s => s.Id).ToList();
    }
}
