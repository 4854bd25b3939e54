using System.Diagnostics;
using System.Net;
using Dedup.Reliability.Infra;
using Xunit;
using Xunit.Abstractions;

namespace Dedup.Reliability;

/// <summary>
/// Issue 5, "a connection cut mid-upload by a small proxy on 127.0.0.1 that the tests control": dedup talks to the real
/// S3 server through <see cref="FaultProxy"/>, which resets open connections mid-transfer and refuses new ones for a
/// while. Transient faults are retried; a command either completes or fails cleanly; once the proxy recovers, a
/// re-run completes and `check` passes.
/// </summary>
public sealed class ProxyFaultTests(ITestOutputHelper output)
{
    internal static IPEndPoint Upstream
    {
        get
        {
            var uri = new Uri(S3Env.Endpoint);
            return new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port);
        }
    }

    [Fact]
    public async Task ConnectionsCutMidUploadAndMidDownload_AreRetried()
    {
        var total = Stopwatch.StartNew();
        int seed = TestRepository.NewSeed();
        await using var repo = await TestRepository.CreateAsync("s3", "proxy-cut", seed);
        await using var proxy = new FaultProxy(Upstream);
        var s3 = (S3Backend)repo.Backend;
        var via = s3.UrlVia(proxy.Port);
        var data = repo.NewDataSet("src", 24L << 20);
        var digest = data.Digest();

        CliResult first;
        var faults = new List<string>();
        // The faults are armed before the process starts and fire inside the proxy at exact byte counts.
        using (var p = repo.Start(TestRepository.BackupArgs(data.Root), url: via))
        {
            // Cut every open connection while packs upload, then refuse connections for a second and a half, then cut again.
            proxy.At(3 << 20, x => { x.CutAll(); lock (faults) faults.Add($"cut at {x.UpstreamBytes >> 10} KiB up"); });
            proxy.At(9 << 20, x =>
            {
                x.Refusing = true;
                x.CutAll();
                lock (faults) faults.Add($"cut and refused for 1.5 s at {x.UpstreamBytes >> 10} KiB up");
                _ = Task.Delay(1500).ContinueWith(_ => x.Refusing = false, TaskScheduler.Default);
            });
            proxy.At(15 << 20, x => { x.CutAll(); lock (faults) faults.Add($"cut at {x.UpstreamBytes >> 10} KiB up"); });
            first = await p.WaitAsync();
        }
        var ctx = $"backup through the proxy ({string.Join("; ", faults)}; {proxy.ConnectionsCut} connections cut, {proxy.ConnectionsRefused} refused)";
        if (first.ExitCode == 0)
            repo.Snapshots.Add(new KnownSnapshot(first.Json().GetProperty("snapshot_id").GetString()!, data.Root, digest, "backup with cuts"));
        else
            S3RestartTests.AssertFailedCleanly(repo, first, ctx);

        // The proxy is healthy again: a re-run completes, check passes, and every snapshot restores.
        var (rerun, _) = await repo.BackupAsync(data, "re-run through the proxy", url: via);
        await repo.CheckAsync(ctx + ", then a re-run");

        // A restore whose connections are cut mid-download completes or fails cleanly; a re-run finishes it.
        var target = repo.Dir.Combine("target");
        CliResult restore;
        long downAtCut;
        using (var p = repo.Start(["restore", rerun.Id, "--target", target], url: via))
        {
            downAtCut = 6 << 20;
            downAtCut += proxy.DownstreamBytes;
            proxy.At(downAtCut, x => x.CutAll(), downstream: true);
            restore = await p.WaitAsync();
        }
        if (restore.ExitCode != 0)
        {
            S3RestartTests.AssertFailedCleanly(repo, restore, "restore through the proxy with a cut", partialAllowed: true);
            await repo.OkAsync(["restore", rerun.Id, "--target", target], url: via);
        }
        repo.VerifyRestored(rerun, target, "restore through the proxy with a cut");
        foreach (var s in repo.Snapshots) await repo.RestoreAndVerifyAsync(s, ctx, url: via);

        output.WriteLine($"seed {seed}: {ctx}: exit {first.ExitCode} after {first.Elapsed.TotalSeconds:0.0} s {first.Stderr.Trim()}; restore cut after "
                         + $"{downAtCut >> 10} KiB down: exit {restore.ExitCode} {restore.Stderr.Trim()}; {total.Elapsed.TotalSeconds:0} s in all");
    }

    [Fact]
    public async Task ProxyRefusingUntilTheBackupGivesUp_FailsCleanly_AndTheRerunCompletes()
    {
        var total = Stopwatch.StartNew();
        int seed = TestRepository.NewSeed();
        await using var repo = await TestRepository.CreateAsync("s3", "proxy-down", seed);
        // Slowed to 4 MB/s per connection, so that the outage begins well before the backup could finish.
        await using var proxy = new FaultProxy(Upstream) { BytesPerSecondPerConnection = 4_000_000 };
        var via = ((S3Backend)repo.Backend).UrlVia(proxy.Port);
        var data = repo.NewDataSet("src", 24L << 20);

        CliResult failed;
        string atCut;
        atCut = "never";
        proxy.At(5 << 20, x =>
        {
            x.Refusing = true;
            x.CutAll();
            atCut = $"{x.UpstreamBytes >> 10} KiB up, {x.Connections} connections, {x.ConnectionsCut} cut";
        });
        using (var p = repo.Start(TestRepository.BackupArgs(data.Root), url: via, env: new Dictionary<string, string?> { ["DEDUP_S3_RETRIES"] = "3" }))
        {
            failed = await p.WaitAsync(TimeSpan.FromMinutes(2));
            proxy.Refusing = false;
            proxy.BytesPerSecondPerConnection = 0;
        }
        S3RestartTests.AssertFailedCleanly(repo, failed, $"backup while the proxy refused every connection (down at {atCut}; "
            + $"at the end {proxy.UpstreamBytes >> 10} KiB up, {proxy.Connections} connections, {proxy.ConnectionsRefused} refused)");
        Assert.Empty(await repo.SnapshotIdsAsync());

        var (snap, summary) = await repo.BackupAsync(data, "re-run through the recovered proxy", url: via);
        await repo.CheckAsync("after the proxy recovered");
        await repo.RestoreAndVerifyAsync(snap, "after the proxy recovered", url: via);
        output.WriteLine($"seed {seed}: failed after {failed.Elapsed.TotalSeconds:0.0} s ({proxy.ConnectionsRefused} connections refused) with: {failed.Stderr.Trim()}; "
                         + $"the re-run added {summary.GetProperty("bytes_added").GetInt64() >> 20} of {data.TotalBytes >> 20} MiB; {total.Elapsed.TotalSeconds:0} s in all");
    }
}
