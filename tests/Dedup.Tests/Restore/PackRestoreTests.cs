using Dedup.Archiver.Restore;
using Dedup.Format;
using Dedup.Storage;
using Dedup.TestKit;
using Xunit;
using static Dedup.Tests.Reliability.ReliabilityHelpers;

namespace Dedup.Tests.Restore;

/// <summary>Restore through the pack-oriented read path: damage reported once with every file it costs, memory bounded by reads in flight.</summary>
public sealed class PackRestoreTests : IDisposable
{
    private readonly TempDir _source = new("dedup-src");
    private readonly TempDir _target = new("dedup-restore");

    public void Dispose()
    {
        _source.Dispose();
        _target.Dispose();
    }

    [Fact]
    public async Task A_damaged_blob_is_reported_once_naming_every_file_that_needs_it_and_every_other_file_is_restored()
    {
        var shared = DataGen.RandomBytes(1, 40_000); // one chunk: one blob, stored once, wanted by three files
        foreach (var name in new[] { "a/same1", "b/same2", "same3" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Join(_source.Path, name))!);
            await File.WriteAllBytesAsync(Path.Join(_source.Path, name), shared);
        }
        for (int i = 0; i < 20; i++) await File.WriteAllBytesAsync(Path.Join(_source.Path, $"other{i}"), DataGen.RandomBytes(100 + i, 30_000 + i));
        await using var t = await TestRepo.InMemoryAsync();
        var snapshot = (await BackupAsync(t.Repo, _source.Path)).SnapshotId;
        await t.Repo.LoadIndexAsync();
        var domain = (await t.Repo.Snapshots.LoadAsync(snapshot)).Domain;
        var loc = Assert.Single(t.Repo.Index.Locations(t.Repo.Keys.For(domain).BlobId(shared), domain));
        var pack = Layout.Pack(loc.PackId);
        var bytes = await t.ReadObjectAsync(pack);
        bytes[loc.Offset + 7] ^= 1;
        await t.ReplaceObjectAsync(pack, bytes);

        await using var repo = await t.ReopenAsync();
        var result = await RestoreAsync(repo, snapshot, _target.Path);

        var damage = Assert.Single(result.Damaged);
        Assert.Contains(pack, damage.Reason);
        var root = Path.Join(_target.Path, _source.Path);
        var expected = new[] { "a/same1", "b/same2", "same3" }.Select(n => _source.Path + "/" + n).Order().ToArray();
        Assert.Equal(expected, damage.Files.Order().ToArray());
        Assert.Equal(expected, result.Failures.Select(f => f.Path).Order().ToArray());
        foreach (var n in new[] { "a/same1", "b/same2", "same3" }) Assert.False(File.Exists(Path.Join(root, n)));
        for (int i = 0; i < 20; i++)
            Assert.Equal(await File.ReadAllBytesAsync(Path.Join(_source.Path, $"other{i}")), await File.ReadAllBytesAsync(Path.Join(root, $"other{i}")));
        Assert.DoesNotContain(Directory.EnumerateFiles(_target.Path, "*", SearchOption.AllDirectories), p => p.EndsWith(".dedup-partial", StringComparison.Ordinal));
    }

    /// <summary>
    /// A false claim (garbage under the snapshot's blob IDs, each claimed a little longer than it is) ranks first, because
    /// the genuine packs are marked: the restore's offsets, planned from it, are wrong. Every blob still comes from its
    /// genuine copy, and each file whose lengths disagreed is written again in order: every file is identical.
    /// </summary>
    [Fact]
    public async Task A_false_claim_with_wrong_lengths_ranking_first_costs_no_file()
    {
        DataGen.FileTree(_source.Path, 23, 1_000_000);
        await using var t = await TestRepo.InMemoryAsync();
        var snapshot = (await BackupAsync(t.Repo, _source.Path)).SnapshotId;
        await t.Repo.LoadIndexAsync();
        var domain = (await t.Repo.Snapshots.LoadAsync(snapshot)).Domain;
        var genuine = t.Repo.Index.Blobs().Where(b => b.Location.Type == BlobType.Data).ToList();
        using (var w = new Dedup.Repository.Packs.PackWriter(BlobType.Data, domain, t.Repo.Keys.ReadPublicKey, t.Repo.Config.PackSize))
        {
            foreach (var (id, loc) in genuine) w.Add(id, DataGen.RandomBytes(loc.RawLength, loc.RawLength + 1000));
            using var pack = w.Finish();
            await t.Storage.PutAsync(Layout.Pack(pack.Id), pack.Bytes);
            var index = Dedup.Repository.Index.IndexFile.Seal([pack.Index], t.Repo.Keys.For(domain), t.Repo.Keys);
            await t.Storage.PutAsync(Layout.IndexPrefix + ObjectId.HashOf(index), index);
        }
        var mark = Dedup.Repository.Maintenance.PruneMark.Seal(DateTimeOffset.UtcNow, genuine.Select(b => b.Location.PackId).Distinct().ToArray(), t.Repo.Keys);
        await t.Storage.PutAsync(Dedup.Repository.Maintenance.PruneMark.Prefix + ObjectId.HashOf(mark), mark);

        await using var repo = await t.ReopenAsync();
        var (someId, someLoc) = genuine[0];
        Assert.Equal(someLoc.RawLength + 1000, repo.Index.Locations(someId, domain)[0].RawLength); // the false claim ranks first
        var result = await RestoreAsync(repo, snapshot, _target.Path);
        Assert.Empty(result.Failures);
        Assert.True(result.Reads!.Fallbacks > 0);
        Assert.True(result.FilesReadInOrder > 0);
        Assert.Equal(DataGen.Digest(_source.Path), DataGen.Digest(Path.Join(_target.Path, _source.Path)));
    }

    [Fact]
    public async Task Memory_of_a_restore_is_bounded_by_the_reads_in_flight_not_by_the_number_of_files()
    {
        DataGen.FileTree(_source.Path, 21, 3_000_000);
        int files = Directory.EnumerateFiles(_source.Path, "*", SearchOption.AllDirectories).Count();
        await using var t = await TestRepo.InMemoryAsync();
        var snapshot = (await BackupAsync(t.Repo, _source.Path)).SnapshotId;
        await using var repo = await t.ReopenAsync();
        var loaded = await repo.Snapshots.LoadAsync(snapshot);
        var result = await Restorer.RunAsync(repo, loaded, new RestoreOptions { Target = _target.Path, ReadsInFlight = 2, RestoreOwners = false }, new RestoreProgress());
        Assert.Empty(result.Failures);
        Assert.Equal(DataGen.Digest(_source.Path), DataGen.Digest(Path.Join(_target.Path, _source.Path)));
        var reads = result.Reads!;
        Assert.True(files > 20, $"{files} files");
        Assert.InRange(reads.PeakRangesInFlight, 1, 2);
        Assert.InRange(reads.PeakBytesInFlight, 1, 2 * new Dedup.Repository.PackStreamerOptions().MaxRangeBytes);
        // Far fewer requests than files: neighbouring blobs of many files came in one ranged read.
        Assert.True(reads.Requests < files / 2, $"{reads.Requests} requests for {files} files");
    }

    [Fact]
    public async Task A_restore_with_cuts_mid_body_over_every_pack_read_is_byte_identical()
    {
        DataGen.FileTree(_source.Path, 22, 2_000_000);
        await using var t = await TestRepo.InMemoryAsync();
        var snapshot = (await BackupAsync(t.Repo, _source.Path)).SnapshotId;
        var faulty = new FaultInjectingStorage(t.Storage, seed: 4);
        await using var repo = await TestRepo.OpenAsync(faulty.WithRetries(FastRetries(4)));
        var loaded = await repo.Snapshots.LoadAsync(snapshot);
        // The first six reads of packs are cut 3000 bytes in: each cut is reopened where it stopped, and cut again.
        faulty.Add(new FaultRule { Operations = StorageOp.Read, NamePattern = "data/*", Kind = FaultKind.FailMidStream, KeepBytes = 3000, Times = 6 });
        var result = await Restorer.RunAsync(repo, loaded, new RestoreOptions { Target = _target.Path, RestoreOwners = false }, new RestoreProgress());
        Assert.Equal(6, faulty.FaultsInjected);
        Assert.Empty(result.Failures);
        Assert.Equal(DataGen.Digest(_source.Path), DataGen.Digest(Path.Join(_target.Path, _source.Path)));
    }
}
