using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Maintenance.Prune;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Dedup.TestKit;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Maintenance;

/// <summary>
/// Phase 2's index compaction is streamed: it writes the new index files while it still reads the old ones (so it never
/// holds every claim), writes every new file before it deletes an old one, and the index it leaves is the old one minus
/// the deleted packs.
/// </summary>
public sealed class PruneCompactionTests
{
    [Fact]
    public async Task Compaction_writes_index_files_while_still_reading_and_deletes_old_ones_only_after_the_last_write()
    {
        // One index file per pack, 41 claims that stay (40 data packs and the tree's) in files of 2: at most 11 full
        // files can wait unwritten (2 queued, 1 being sealed, 8 readers held up), so the reading cannot finish first.
        var used = Enumerable.Range(0, 50).Select(i => i % 5 != 0).ToArray();
        var (log, report) = await PruneAndCompareAsync(used, blobsPerPack: 1, perFile: 2);

        var reads = log.Select((e, i) => (e, i)).Where(x => x.e.StartsWith("read ", StringComparison.Ordinal)).Select(x => x.i).ToList();
        var puts = log.Select((e, i) => (e, i)).Where(x => x.e.StartsWith("put ", StringComparison.Ordinal)).Select(x => x.i).ToList();
        var deletes = log.Select((e, i) => (e, i)).Where(x => x.e.StartsWith("delete ", StringComparison.Ordinal)).Select(x => x.i).ToList();
        Assert.Equal(21, report.IndexFilesWritten);
        Assert.Equal(21, puts.Count);
        Assert.True(puts[0] < reads[^1], $"the first index file was written at step {puts[0]}, after the last read at step {reads[^1]}: the compaction did not stream");
        Assert.Equal(51, report.IndexFilesDeleted);
        Assert.Equal(51, deletes.Count);
        Assert.True(deletes[0] > puts[^1], "an old index file was deleted before every new one was written");
    }

    [Fact]
    public async Task A_compaction_stopped_by_a_failed_index_put_deletes_nothing_and_the_next_run_finishes_it()
    {
        await using var s = await Scenario.CreateAsync();
        var used = Enumerable.Range(0, 30).Select(i => i % 3 != 0).ToArray();
        await WriteRepositoryAsync(s, used, blobsPerPack: 2);
        var before = await s.OpenAsync();
        await before.LoadIndexAsync();
        var oldFiles = s.Storage.ListAsync(Layout.IndexPrefix).ToBlockingEnumerable().Select(o => o.Name).ToList();
        var packs = s.Storage.ListAsync(Layout.DataPrefix).ToBlockingEnumerable().Count();
        var options = new PruneOptions { Grace = TimeSpan.Zero, MaxUnused = UnusedBudget.Percent(100), PacksPerIndexFile = 2 };

        // The fourth new index file fails to store: the reading stops, and that failure is what the run reports.
        var store = new FaultInjectingStorage(s.Storage).Add(new FaultRule { Operations = StorageOp.Put, NamePattern = "index/*", Kind = FaultKind.Full, AfterSuccesses = 3, Times = 1 });
        var admin = await s.OpenAsync(storage: store);
        var error = await Assert.ThrowsAsync<StorageFullException>(() => Pruner.RunAsync(admin, store, options));
        Assert.Contains("Injected fault", error.Message);
        Assert.Equal(1, store.FaultsInjected);
        var files = s.Storage.ListAsync(Layout.IndexPrefix).ToBlockingEnumerable().Select(o => o.Name).ToList();
        Assert.Equal(3, files.Except(oldFiles).Count());
        Assert.Empty(oldFiles.Except(files));
        Assert.Equal(packs, s.Storage.ListAsync(Layout.DataPrefix).ToBlockingEnumerable().Count());

        // The next run reads the old files and the three new ones, writes each claim once and deletes every other file.
        var report = await Pruner.RunAsync(await s.OpenAsync(), s.Storage, options);
        Assert.Equal(10, report.PacksDeleted);
        var fresh = await s.OpenAsync();
        await fresh.LoadIndexAsync();
        var deleted = before.Index.Claims().Select(c => c.Id).Except(fresh.Index.Claims().Select(c => c.Id)).ToHashSet();
        Assert.Equal(10, deleted.Count);
        Assert.Equal(Entries(before.Index).Where(e => !deleted.Contains(e.Location.PackId)).ToList(), Entries(fresh.Index).ToList());
        Assert.Equal(11, s.Storage.ListAsync(Layout.IndexPrefix).ToBlockingEnumerable().Count()); // 21 claims, 2 a file
        Assert.Equal(packs - 10, s.Storage.ListAsync(Layout.DataPrefix).ToBlockingEnumerable().Count());
    }

    public static class Inputs
    {
        public static Arbitrary<(bool[] Used, int BlobsPerPack, int PerFile)> ClaimSets() =>
            (from used in Gen.Elements(true, true, false).ArrayOf().Where(a => a.Length is > 0 and <= 24)
             from blobs in Gen.Choose(1, 3)
             from perFile in Gen.Choose(1, 5)
             select (used, blobs, perFile)).ToArbitrary();
    }

    [Property(Arbitrary = [typeof(Inputs)], MaxTest = 12)]
    public void The_compacted_index_is_the_old_one_minus_the_deleted_packs((bool[] Used, int BlobsPerPack, int PerFile) input) =>
        PruneAndCompareAsync(input.Used, input.BlobsPerPack, input.PerFile).GetAwaiter().GetResult();

    /// <summary>
    /// Writes one pack (and one index file) per entry of <paramref name="used"/>, a snapshot using the packs flagged
    /// used, then prunes with grace 0 and no repacking. Asserts that the reopened index is exactly the old one without
    /// the unused packs' claims; returns the order of index reads, puts and deletes during the execution, and the report.
    /// </summary>
    private static async Task<(List<string> Log, PruneReport Report)> PruneAndCompareAsync(bool[] used, int blobsPerPack, int perFile)
    {
        await using var s = await Scenario.CreateAsync();
        await WriteRepositoryAsync(s, used, blobsPerPack);
        var recorder = new IndexOrderRecorder(s.Storage);
        var admin = await s.OpenAsync(storage: recorder);
        var plan = await Pruner.PlanAsync(admin, recorder, new PruneOptions { Grace = TimeSpan.Zero, MaxUnused = UnusedBudget.Percent(100), PacksPerIndexFile = perFile });
        var deleted = plan.Packs.Where(p => p.DeletedThisRun).Select(p => p.Pack).ToHashSet();
        var expected = Entries(admin.Index).Where(e => !deleted.Contains(e.Location.PackId)).ToList();
        Assert.True(used.Count(u => !u) == deleted.Count, $"{deleted.Count} deleted: " + string.Join("; ", plan.Packs.Select(p => $"{p.Action} {p.Reason}").Concat(plan.Report.Notes)));
        recorder.Log.Clear();
        var report = await Pruner.ExecuteAsync(admin, recorder, plan);
        var log = recorder.Log.ToList();

        Assert.Equal(deleted.Count, report.PacksDeleted);
        var fresh = await s.OpenAsync();
        await fresh.LoadIndexAsync();
        Assert.Equal(expected, Entries(fresh.Index).ToList());
        // Nothing deleted: nothing to compact, and the writers' files stay. Otherwise the files of perFile claims each.
        int kept = used.Count(u => u) + 1;
        Assert.Equal(deleted.Count == 0 ? used.Length + 1 : (kept + perFile - 1) / perFile, s.Storage.ListAsync(Layout.IndexPrefix).ToBlockingEnumerable().Count());
        return (log, report);
    }

    /// <summary>One pack and one index file per entry of <paramref name="used"/>, and a snapshot whose tree uses the packs flagged used.</summary>
    private static async Task WriteRepositoryAsync(Scenario s, bool[] used, int blobsPerPack)
    {
        var writer = await s.OpenAsync();
        var packs = new List<ObjectId[]>();
        for (int p = 0; p < used.Length; p++)
        {
            await using var w = writer.StartWriting();
            var ids = new ObjectId[blobsPerPack];
            for (int b = 0; b < blobsPerPack; b++) ids[b] = await w.SaveAsync(BlobType.Data, System.Text.Encoding.UTF8.GetBytes($"pack {p} blob {b}"));
            await w.FlushAsync();
            packs.Add(ids);
        }
        var files = packs.Where((_, p) => used[p]).Select((ids, i) => new TreeNode { Name = $"f{i:D4}", Type = NodeType.File, Content = ids, Size = ids.Length }).ToList();
        ObjectId root;
        await using (var w = writer.StartWriting())
        {
            root = await w.SaveAsync(BlobType.Tree, TreeCodec.Encode(files));
            await w.FlushAsync();
        }
        await writer.Snapshots.SaveAsync(new SnapshotInfo { Time = s.Clock.Now, Host = "h", Paths = ["/p"], Tree = [root.ToString()] });
    }

    /// <summary>Every blob's place, with its claim's origin and key, in a fixed order; the table's own claim and entry numbers left out.</summary>
    private static IEnumerable<(ObjectId Id, BlobLocation Location, string Key)> Entries(IndexTable index) =>
        index.Blobs().Select(b => (b.Id, Location: b.Location with { Claim = 0, Entry = 0, WrappedKey = Array.Empty<byte>() }, Key: Convert.ToHexString(b.Location.WrappedKey)))
            .OrderBy(e => e.Location.PackId.ToString(), StringComparer.Ordinal).ThenBy(e => e.Id.ToString(), StringComparer.Ordinal);

    /// <summary>Records, in order, every read, put and delete of an index file.</summary>
    private sealed class IndexOrderRecorder(IMaintenanceStorage inner) : IMaintenanceStorage
    {
        public ConcurrentQueue<string> Log { get; } = new();
        public string Location => inner.Location;

        private void Note(string op, string name)
        {
            if (name.StartsWith(Layout.IndexPrefix, StringComparison.Ordinal)) Log.Enqueue($"{op} {name}");
        }

        public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken ct = default)
        {
            Note("put", name);
            return inner.PutAsync(name, data, ct);
        }

        public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken ct = default)
        {
            Note("read", name);
            return inner.OpenReadAsync(name, offset, length, ct);
        }

        public Task DeleteAsync(string name, CancellationToken ct = default)
        {
            Note("delete", name);
            return inner.DeleteAsync(name, ct);
        }

        public Task<StoredObject?> StatAsync(string name, CancellationToken ct = default) => inner.StatAsync(name, ct);
        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken ct = default) => inner.ListAsync(prefix, ct);
        public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken ct = default) => inner.AbortIncompleteUploadsAsync(olderThan, ct);
    }
}
