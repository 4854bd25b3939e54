using Dedup.Archiver.Check;
using Dedup.Maintenance.Prune;
using Dedup.TestKit;
using Xunit;

namespace Dedup.Tests.Maintenance;

/// <summary>
/// A backup that finishes while prune or check is reading the repository, at the worst moment: right after the admin
/// command has listed the index files. Neither may take the new snapshot for one with missing data, and the new
/// snapshot's data must survive.
/// </summary>
public sealed class BackupDuringReadTests
{
    private sealed record Setup(string Tree, Dedup.Repository.Repository Admin, FaultInjectingStorage Store, Func<string?> Concurrent);

    /// <summary>
    /// One snapshot stored, then an admin repository opened on a store that runs a client backup of a second tree
    /// right after the first listing of index/. <see cref="Setup.Concurrent"/> gives that backup's snapshot ID.
    /// </summary>
    private static async Task<Setup> SetUpAsync(Scenario s, int seed)
    {
        await s.BackupAsync(await s.OpenAsync(), s.MakeTree("a", 4, 20_000, seed));
        var tree = s.MakeTree("b", 4, 20_000, seed + 1);
        var store = new FaultInjectingStorage(s.Storage);
        var client = await s.OpenAsync();
        string? snapshot = null;
        store.AfterList = async prefix =>
        {
            if (prefix != "index/" || snapshot is not null) return;
            snapshot = "running";
            snapshot = (await s.BackupAsync(client, tree, host: "host-b")).SnapshotId.ToString();
        };
        return new Setup(tree, await s.OpenAsync(storage: store), store, () => snapshot);
    }

    [Fact]
    public async Task Prune_carries_on_and_keeps_the_data_of_a_backup_that_finished_after_it_listed_the_index()
    {
        await using var s = await Scenario.CreateAsync();
        var setup = await SetUpAsync(s, seed: 1);
        var options = new PruneOptions { Grace = TimeSpan.FromHours(48) };

        await Pruner.RunAsync(setup.Admin, setup.Store, options); // threw "refers to blob ..., which is in no index" before
        var concurrent = setup.Concurrent();
        Assert.NotNull(concurrent);
        Assert.NotEqual("running", concurrent);

        // Whatever the first run marked, a run after the grace period must keep what the new snapshot needs.
        s.Clock.Advance(TimeSpan.FromHours(49));
        await Pruner.RunAsync(await s.OpenAsync(), s.Storage, options);
        var reader = await s.OpenAsync();
        await reader.LoadIndexAsync();
        var (target, result) = await s.RestoreAsync(reader, concurrent);
        Assert.Empty(result.Failures);
        Scenario.AssertSameTree(setup.Tree, Path.Join(target, setup.Tree));
    }

    [Fact]
    public async Task Check_reports_nothing_wrong_when_a_backup_finishes_after_it_listed_the_index()
    {
        await using var s = await Scenario.CreateAsync();
        var setup = await SetUpAsync(s, seed: 3);

        var result = await Checker.RunAsync(setup.Admin, new CheckOptions { ReadData = true }, CancellationToken.None);

        Assert.NotNull(setup.Concurrent());
        Assert.NotEqual("running", setup.Concurrent());
        Assert.True(result.IsOk, string.Join("; ", result.Errors));
    }
}
