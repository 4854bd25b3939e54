using Dedup.Maintenance;
using Xunit;

namespace Dedup.Tests.Maintenance;

public sealed class RepairTests
{
    [Fact]
    public async Task Repair_drops_index_entries_of_a_lost_pack_and_rewrites_snapshots_without_the_lost_files()
    {
        await using var s = await Scenario.CreateAsync();
        var repo = await s.OpenAsync();
        var tree = s.MakeTree("a", 12, 200_000, 21);
        var backup = await s.BackupAsync(repo, tree);
        // Lose one data pack, as a failing disk or a careless admin might.
        var packs = s.Storage.ListAsync("data/").ToBlockingEnumerable().OrderByDescending(o => o.Size).ToList();
        await s.Storage.DeleteAsync(packs[0].Name);

        var admin = await s.OpenAsync();
        var index = await Repair.RebuildIndexAsync(admin, s.Storage);
        Assert.Equal(packs.Count - 1, index.PacksIndexed);
        Assert.Empty(index.DamagedPacks);

        var repaired = Assert.Single(await Repair.RepairSnapshotsAsync(admin, s.Storage, forgetOriginals: true, dryRun: false));
        Assert.Equal(backup.SnapshotId.ToString(), repaired.Original);
        Assert.NotEmpty(repaired.LostPaths);
        Assert.True(repaired.LostPaths.Count < 12, "every file was lost, the pack was not a data pack?");

        var reader = await s.OpenAsync();
        await reader.LoadIndexAsync();
        var (target, result) = await s.RestoreAsync(reader, "latest");
        Assert.Empty(result.Failures);
        foreach (var file in Directory.EnumerateFiles(tree))
        {
            var restored = Path.Join(target, file);
            bool lost = repaired.LostPaths.Contains(file);
            Assert.Equal(!lost, File.Exists(restored));
            if (!lost) Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(restored));
        }
        Assert.Single(await reader.Snapshots.ListAsync());
    }

    [Fact]
    public async Task A_damaged_pack_is_named_and_left_out_of_the_rebuilt_index()
    {
        await using var s = await Scenario.CreateAsync();
        var repo = await s.OpenAsync();
        await s.BackupAsync(repo, s.MakeTree("a", 3, 100_000, 4));
        var victim = s.Storage.ListAsync("data/").ToBlockingEnumerable().First();
        var bytes = new byte[victim.Size];
        await using (var stream = await s.Storage.OpenReadAsync(victim.Name)) await stream.ReadExactlyAsync(bytes);
        bytes[^10] ^= 0xFF; // inside the trailer: the header can no longer be found
        await s.Storage.DeleteAsync(victim.Name);
        await s.Storage.PutAsync(victim.Name, bytes);

        var result = await Repair.RebuildIndexAsync(await s.OpenAsync(), s.Storage);
        Assert.Contains(result.DamagedPacks, d => d.StartsWith(victim.Name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_blob_damaged_inside_an_intact_pack_is_dropped_lost_and_stored_again_by_the_next_backup()
    {
        await using var s = await Scenario.CreateAsync();
        var repo = await s.OpenAsync();
        var tree = s.MakeTree("a", 6, 150_000, 31);
        await s.BackupAsync(repo, tree);
        // Flip one byte early in the biggest pack: inside a blob, far from the header and trailer.
        var pack = s.Storage.ListAsync("data/").ToBlockingEnumerable().OrderByDescending(o => o.Size).First();
        var bytes = new byte[pack.Size];
        await using (var stream = await s.Storage.OpenReadAsync(pack.Name)) await stream.ReadExactlyAsync(bytes);
        bytes[100] ^= 0x01;
        await s.Storage.DeleteAsync(pack.Name);
        await s.Storage.PutAsync(pack.Name, bytes);

        var admin = await s.OpenAsync();
        Assert.Empty((await Repair.RebuildIndexAsync(admin, s.Storage)).DamagedPacks); // the header alone looks fine
        var deep = await Repair.RebuildIndexAsync(admin, s.Storage, readData: true);
        Assert.Equal(1, deep.DamagedBlobsDropped);
        var lost = Assert.Single(await Repair.RepairSnapshotsAsync(admin, s.Storage, forgetOriginals: true, dryRun: false)).LostPaths;
        Assert.Single(lost);

        var client = await s.OpenAsync();
        var again = await s.BackupAsync(client, tree);
        Assert.True(again.Snapshot.Summary.BytesAdded > 0, "the damaged data was not stored again");
        var reader = await s.OpenAsync();
        await reader.LoadIndexAsync();
        var (target, result) = await s.RestoreAsync(reader, again.SnapshotId.ToString());
        Assert.Empty(result.Failures);
        Scenario.AssertSameTree(tree, Path.Join(target, tree));
    }
}
