using Dedup.Archiver.Backup;
using Dedup.Archiver.Check;
using Dedup.Format;
using Dedup.TestKit;
using Xunit;

namespace Dedup.Tests.Check;

public sealed class CheckerTests
{
    private sealed class Fixture : IAsyncDisposable
    {
        public required TestRepo Repo { get; init; }
        public required TempDir Source { get; init; }
        public required List<string> Files { get; init; }
        public required string SnapshotId { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Repo.DisposeAsync();
            Source.Dispose();
        }
    }

    private static async Task<Fixture> BackupAsync(bool onDisk = false)
    {
        var repo = onDisk ? await TestRepo.OnDiskAsync() : await TestRepo.InMemoryAsync();
        var src = new TempDir();
        var files = DataGen.FileTree(src.Path, 11, 2_500_000);
        var result = await Dedup.Archiver.Backup.Archiver.RunAsync(repo.Repo, new BackupOptions { Paths = [src.Path], Workers = 2 }, new BackupProgress());
        return new Fixture { Repo = repo, Source = src, Files = files, SnapshotId = result.SnapshotId.ToString() };
    }

    private static async Task<CheckResult> CheckAsync(Fixture f, bool readData)
    {
        // Opened without loading the index: check loads index files itself, so that a damaged one is named, not fatal.
        await using var repo = await Dedup.Repository.Repository.OpenAsync(f.Repo.Storage, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password));
        return await Checker.RunAsync(repo, new CheckOptions { ReadData = readData }, CancellationToken.None);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_good_repository_passes(bool readData)
    {
        await using var f = await BackupAsync(onDisk: readData);
        var r = await CheckAsync(f, readData);
        Assert.True(r.IsOk, string.Join("\n", r.Problems));
        Assert.Empty(r.Problems);
        Assert.Equal(1, r.SnapshotsChecked);
        Assert.True(r.PacksChecked >= 2);
        Assert.True(r.BlobsChecked > 0);
    }

    [Fact]
    public async Task A_flipped_byte_in_a_data_pack_is_named_with_the_files_it_affects()
    {
        await using var f = await BackupAsync();
        var dataPack = await FirstPackOfTypeAsync(f, BlobType.Data);
        var bytes = await f.Repo.ReadObjectAsync(dataPack);
        bytes[bytes.Length / 3] ^= 0x01;
        await f.Repo.ReplaceObjectAsync(dataPack, bytes);

        var quick = await CheckAsync(f, readData: false);
        Assert.True(quick.IsOk, "a flipped blob byte keeps the size and header: only --read-data finds it");

        var r = await CheckAsync(f, readData: true);
        var p = Assert.Single(r.Errors, e => e.ObjectName == dataPack && e.AffectedFiles.Count > 0);
        Assert.Contains(f.SnapshotId, p.AffectedSnapshots);
        Assert.All(p.AffectedFiles, file => Assert.StartsWith("/", file));
        Assert.Contains(r.Errors, e => e.ObjectName == dataPack && e.Description.Contains("does not match its name"));
    }

    [Fact]
    public async Task A_truncated_pack_is_named_without_reading_data()
    {
        await using var f = await BackupAsync();
        var pack = await FirstPackOfTypeAsync(f, BlobType.Data);
        var bytes = await f.Repo.ReadObjectAsync(pack);
        await f.Repo.ReplaceObjectAsync(pack, bytes[..^10]);
        var r = await CheckAsync(f, readData: false);
        var p = Assert.Single(r.Errors, e => e.ObjectName == pack);
        Assert.Contains("bytes but its index entry implies", p.Description);
        Assert.NotEmpty(p.AffectedFiles);
    }

    [Fact]
    public async Task A_missing_tree_pack_names_the_pack_and_the_directories()
    {
        await using var f = await BackupAsync();
        var pack = await FirstPackOfTypeAsync(f, BlobType.Tree);
        await f.Repo.Storage.DeleteAsync(pack);
        var r = await CheckAsync(f, readData: false);
        var p = Assert.Single(r.Errors, e => e.ObjectName == pack);
        Assert.Contains("missing", p.Description);
        Assert.Contains(f.SnapshotId, p.AffectedSnapshots);
        Assert.Contains(p.AffectedFiles, x => x.EndsWith('/'));
    }

    [Fact]
    public async Task A_damaged_header_trailer_is_found_without_reading_data()
    {
        await using var f = await BackupAsync();
        var pack = await FirstPackOfTypeAsync(f, BlobType.Data);
        var bytes = await f.Repo.ReadObjectAsync(pack);
        bytes[^30] ^= 0x40; // inside the wrapped data key
        await f.Repo.ReplaceObjectAsync(pack, bytes);
        var r = await CheckAsync(f, readData: false);
        Assert.Contains(r.Errors, e => e.ObjectName == pack);
    }

    [Fact]
    public async Task A_damaged_index_file_and_snapshot_are_each_named_and_others_still_checked()
    {
        await using var f = await BackupAsync();
        var index = (await f.Repo.ListAsync(Layout.IndexPrefix))[0];
        var snapshot = (await f.Repo.ListAsync(Layout.SnapshotsPrefix))[0];
        foreach (var name in new[] { index, snapshot })
        {
            var bytes = await f.Repo.ReadObjectAsync(name);
            bytes[^1] ^= 0xFF;
            await f.Repo.ReplaceObjectAsync(name, bytes);
        }
        var r = await CheckAsync(f, readData: false);
        Assert.Contains(r.Errors, e => e.ObjectName == index && e.Description.Contains("does not match its name"));
        Assert.Contains(r.Errors, e => e.ObjectName == snapshot);
        // The packs that index listed are now unindexed leftovers: reported, as warnings.
        Assert.Contains(r.Warnings, w => w.Description.StartsWith("unindexed"));
    }

    [Fact]
    public async Task An_unindexed_pack_is_only_a_warning()
    {
        await using var f = await BackupAsync();
        var pack = await FirstPackOfTypeAsync(f, BlobType.Data);
        var bytes = await f.Repo.ReadObjectAsync(pack);
        // A valid pack under its own name that no index lists: what a killed backup leaves behind.
        using (var writer = new Dedup.Repository.Packs.PackWriter(BlobType.Data, f.Repo.Repo.Keys.Own.Id, f.Repo.Repo.Keys.ReadPublicKey, 1 << 20))
        {
            var data = DataGen.RandomBytes(5, 1000);
            writer.Add(f.Repo.Repo.Keys.Own.BlobId(data), data);
            using var p = writer.Finish();
            await f.Repo.Storage.PutAsync(Layout.Pack(p.Id), p.Bytes);
        }
        var r = await CheckAsync(f, readData: true);
        Assert.True(r.IsOk, string.Join("\n", r.Problems));
        Assert.Single(r.Warnings, w => w.Description.Contains("unindexed (left by an interrupted backup; harmless)"));
    }

    [Fact]
    public async Task A_damaged_key_file_is_named()
    {
        await using var f = await BackupAsync();
        var key = (await f.Repo.ListAsync(Layout.KeysPrefix))[0];
        await using var repo = await f.Repo.ReopenAsync();
        var bytes = await f.Repo.ReadObjectAsync(key);
        bytes[5] ^= 0x01;
        await f.Repo.ReplaceObjectAsync(key, bytes);
        var r = await Checker.RunAsync(repo, new CheckOptions(), CancellationToken.None);
        Assert.Contains(r.Errors, e => e.ObjectName == key);
    }

    private static async Task<string> FirstPackOfTypeAsync(Fixture f, BlobType type)
    {
        var packs = f.Repo.Repo.Index.Claims();
        var id = packs.First(p => p.Type == type).Id;
        return Layout.Pack(id);
    }
}
