using System.Diagnostics;
using Dedup.Reliability.Infra;
using Xunit;
using Xunit.Abstractions;

namespace Dedup.Reliability;

/// <summary>These tests stop the shared S3 server: nothing else may run beside them.</summary>
[CollectionDefinition("s3-restart", DisableParallelization = true)]
public sealed class S3RestartCollection;

/// <summary>
/// Issue 5, "The real S3 server stopped and restarted in the middle of a backup, and in the middle of a restore":
/// the command retries, then fails cleanly (one line, no stack trace, no snapshot); after the restart the next run
/// completes and reuses what was stored. The server is started again whatever happens.
/// </summary>
[Collection("s3-restart")]
public sealed class S3RestartTests(ITestOutputHelper output)
{
    /// <summary>Three attempts with backoff take about two seconds: the failure comes well before the restart.</summary>
    private static readonly Dictionary<string, string?> FewRetries = new() { ["DEDUP_S3_RETRIES"] = "3" };

    [Fact]
    public async Task ServerStoppedMidBackup_FailsCleanly_AndTheNextBackupReusesWhatWasIndexed()
    {
        var total = Stopwatch.StartNew();
        int seed = TestRepository.NewSeed();
        await using var repo = await TestRepository.CreateAsync("s3", "restart-backup", seed);
        // Many 1 MiB packs: an index file is written every few of them. The backup goes through the test proxy, slowed to
        // 4 MB/s per connection, so that the stop lands while it uploads (on loopback it would be over first).
        var data = repo.NewDataSet("src", 32L << 20);
        var digest = data.Digest();
        await using var proxy = new FaultProxy(ProxyFaultTests.Upstream) { BytesPerSecondPerConnection = 2_000_000 };
        var via = ((S3Backend)repo.Backend).UrlVia(proxy.Port);

        CliResult failed;
        TimeSpan stopTook;
        int indexedAtStop, packsAtStop;
        using (var p = repo.Start([.. TestRepository.BackupArgs(data.Root), "--s3-connections", "2"], env: FewRetries, url: via))
        {
            try
            {
                // Freeze the transfer (inside the proxy, at an exact byte count) once an index file is stored, stop the
                // server, then let the frozen requests go on to a server that is gone.
                await KilledBackupTests.WaitForNewObjectAsync(repo.Backend, "index", [], p, TimeSpan.FromMinutes(2));
                proxy.Hold();
                if (p.HasExited) Assert.Fail($"{repo.Context} the backup finished before the server could be stopped: {await p.WaitAsync()}");
                indexedAtStop = (await repo.Backend.ListAsync("index")).Count;
                packsAtStop = (await repo.Backend.ListAsync("data")).Count;
                var stop = Stopwatch.StartNew();
                await Task.Run(() => S3Env.Server("stop"));
                stopTook = stop.Elapsed;
                proxy.Release();
                failed = await p.WaitAsync(TimeSpan.FromMinutes(2));
            }
            finally
            {
                proxy.Release();
                await Task.Run(() => S3Env.Server("start"));
            }
        }
        AssertFailedCleanly(repo, failed, "backup while the server was stopped");
        Assert.Empty(await repo.SnapshotIdsAsync());

        var (snap, summary) = await repo.BackupAsync(data, "backup after the restart", url: via);
        // Every data pack listed at the stop is full (at least the 1 MiB target; stored bytes never exceed raw bytes by
        // more than the per-blob seal overhead), and all but the uploads in flight on the two connections, which the
        // client may not have seen succeed, are known to it through the index or its pending-index journal.
        const int InDoubt = 2;
        long reusable = Math.Max(0, packsAtStop - InDoubt) * 1_000_000L;
        long added = summary.GetProperty("bytes_added").GetInt64();
        Assert.True(added <= data.TotalBytes - reusable,
            $"{repo.Context} the backup after the restart added {added} of {data.TotalBytes} bytes: of the {packsAtStop} packs "
            + $"({indexedAtStop} index files) stored before the stop, fewer than {packsAtStop - InDoubt} were reused");
        await repo.CheckAsync("after the restart");
        await repo.RestoreAndVerifyAsync(snap, "after the restart");
        Assert.Equal(digest, snap.Roots[0].Digest);
        output.WriteLine($"seed {seed}: stopped after {packsAtStop} packs and {indexedAtStop} index files (stop took {stopTook.TotalSeconds:0.0} s); "
                         + $"the backup failed after {failed.Elapsed.TotalSeconds:0.0} s with: {failed.Stderr.Trim()}; the next added {added >> 20} of "
                         + $"{data.TotalBytes >> 20} MiB; {total.Elapsed.TotalSeconds:0} s in all");
    }

    [Fact]
    public async Task ServerStoppedMidRestore_FailsCleanly_AndTheRerunCompletes()
    {
        var total = Stopwatch.StartNew();
        int seed = TestRepository.NewSeed();
        await using var repo = await TestRepository.CreateAsync("s3", "restart-restore", seed);
        var data = repo.NewDataSet("src", 24L << 20);
        var (snap, _) = await repo.BackupAsync(data, "the snapshot");
        var target = repo.Dir.Combine("target");
        // Through the test proxy at 4 MB/s, so that the stop lands mid-restore (see above).
        await using var proxy = new FaultProxy(ProxyFaultTests.Upstream) { BytesPerSecondPerConnection = 2_000_000 };
        var via = ((S3Backend)repo.Backend).UrlVia(proxy.Port);

        CliResult failed;
        int filesAtStop;
        using (var p = repo.Start(["restore", snap.Id, "--target", target, "--s3-connections", "1"], env: FewRetries, url: via))
        {
            try
            {
                // Stop once a few files are complete: the rest are in flight or not started.
                var clock = Stopwatch.StartNew();
                while (!p.HasExited && CompleteFiles(target) < 3 && clock.Elapsed < TimeSpan.FromMinutes(1)) await Task.Delay(20);
                proxy.Hold();
                if (p.HasExited) Assert.Fail($"{repo.Context} the restore finished before the server could be stopped: {await p.WaitAsync()}");
                filesAtStop = CompleteFiles(target);
                await Task.Run(() => S3Env.Server("stop"));
                proxy.Release();
                failed = await p.WaitAsync(TimeSpan.FromMinutes(2));
            }
            finally
            {
                proxy.Release();
                await Task.Run(() => S3Env.Server("start"));
            }
        }
        AssertFailedCleanly(repo, failed, "restore while the server was stopped", partialAllowed: true);
        int filesAfterFailure = CompleteFiles(target);

        var rerun = await repo.RunAsync(["restore", snap.Id, "--target", target, "--json"]);
        Assert.True(rerun.ExitCode == 0, $"{repo.Context} the re-run into the same target did not finish the restore: {rerun}");
        repo.VerifyRestored(snap, target, "after the restart");
        output.WriteLine($"seed {seed}: stopped after {filesAtStop} files; the restore failed after {failed.Elapsed.TotalSeconds:0.0} s (exit {failed.ExitCode}, "
                         + $"{filesAfterFailure} files complete) with: {failed.Stderr.Trim()}; the re-run completed; {total.Elapsed.TotalSeconds:0} s in all");
    }

    private static int CompleteFiles(string target) =>
        Directory.Exists(target)
            ? Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Count(f => !f.EndsWith(".dedup-partial", StringComparison.Ordinal))
            : 0;

    /// <summary>A clean failure: not killed, a non-zero exit code, only "dedup: " lines on stderr (one, unless a restore lists
    /// the files it could not write and exits 3), and no stack trace.</summary>
    internal static void AssertFailedCleanly(TestRepository repo, CliResult r, string what, bool partialAllowed = false)
    {
        Assert.True(r.ExitCode != 0 && !r.Killed, $"{repo.Context} {what}: expected a clean failure: {r}");
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("Unhandled exception", r.Stderr);
        var lines = r.StderrLines.Where(l => !l.StartsWith("dedup: warning:", StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count > 0 && lines.All(l => l.StartsWith("dedup: ", StringComparison.Ordinal)), $"{repo.Context} {what}: stderr is not dedup's one-line errors: {r}");
        if (!(partialAllowed && r.ExitCode == 3))
            Assert.True(lines.Count == 1, $"{repo.Context} {what}: expected exactly one error line: {r}");
    }
}
