using Dedup.Maintenance;
using Dedup.Tests.Adversarial;
using Xunit;

namespace Dedup.Tests.Maintenance;

/// <summary>'dedup status' (issue 13), through the library: a silent host and a host with a sudden change are flagged.</summary>
public sealed class FleetStatusTests
{
    [Fact]
    public async Task A_silent_host_and_a_sudden_change_are_flagged_and_a_steady_host_is_not()
    {
        await using var f = await Fleet.CreateAsync();
        var options = new FleetStatusOptions { ChurnFloorBytes = 100_000, ChurnFloorFiles = 1000 };
        // web2 backs up once, then falls silent.
        await f.BackupAsync(f.Web2, "web2", Fleet.Content(99));
        // web1: five nightly backups each adding a little, then one that rewrites a lot.
        var steady = Fleet.Content(1, 400_000);
        for (int night = 0; night < 5; night++)
        {
            f.Clock.Advance(TimeSpan.FromHours(4));
            await f.BackupAsync(f.Web1, "web1", [.. steady, .. Fleet.Content(10 + night, 20_000)]);
        }
        var calm = await FleetStatus.RunAsync(f.Admin, options);
        var web1Calm = Assert.Single(calm, r => r.Host == "web1");
        Assert.False(web1Calm.NeedsAttention, web1Calm.ToString());
        Assert.Equal(5, web1Calm.Snapshots);
        Assert.StartsWith("writer:", web1Calm.Identity);
        Assert.Contains(calm, r => r.Host == "web2" && !r.Silent); // 20 h after its backup

        f.Clock.Advance(TimeSpan.FromHours(10));
        var sudden = await f.BackupAsync(f.Web1, "web1", Fleet.Content(77, 2_000_000));
        var rows = await FleetStatus.RunAsync(f.Admin, options);
        var web1 = Assert.Single(rows, r => r.Host == "web1");
        var web2 = Assert.Single(rows, r => r.Host == "web2");
        Assert.True(web1.UnusualChurn, web1.ToString());
        Assert.False(web1.Silent);
        Assert.Equal(sudden.SnapshotId.ToString(), web1.LastSnapshot);
        Assert.True(web1.AddedBytes > 10 * web1.MedianAddedBytes!.Value);
        Assert.True(web2.Silent, web2.ToString());
        Assert.False(web2.UnusualChurn);
        Assert.True(web2.Age > options.Stale);

        var text = FleetStatus.Prometheus(rows, f.Clock.GetUtcNow());
        Assert.Contains("dedup_writer_silent{writer=\"" + web2.Identity + "\",host=\"web2\",paths=\"/stream\"} 1", text);
        Assert.Contains("dedup_writer_unusual_churn{writer=\"" + web1.Identity + "\",host=\"web1\",paths=\"/stream\"} 1", text);
    }
}
