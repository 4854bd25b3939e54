using System.Text.Json.Nodes;
using Dedup.Reliability.Infra;
using Dedup.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace Dedup.Reliability;

/// <summary>
/// Issue 13, "kill a backup, then resume it", with real processes on the real S3 server: a host whose S3 user may only
/// PutObject on the repository prefix (the bucket policy 'dedup policy --role put-only' prints) backs up through
/// <see cref="FaultProxy"/>, which SIGKILLs the `dedup backup` process the moment 8 MiB have gone up. The next run
/// uploads only what the killed one had not stored (its packs come back from the local journal, as nothing can be
/// listed or read), and the admin restores the snapshot byte-identical and check --read-data passes.
/// </summary>
public sealed class KilledPutOnlyBackupTests(ITestOutputHelper output)
{
    private const long KillAfterBytesUp = 8L << 20;

    [Fact]
    public async Task PutObjectOnlyHost_KilledMidBackup_ResumesWithOnlyWhatItHadNotStored()
    {
        _ = S3Env.Endpoint;
        S3Users.EnsurePutOnly();
        int seed = TestRepository.NewSeed();
        var dir = new TempDir("dedup-rel-putonly");
        var bucket = $"dedup-rel-po-{Guid.NewGuid():N}"[..30];
        var s3 = new S3Backend("putonly", bucket, (S3Users.PutOnlyKey, S3Users.PutOnlySecret));
        await using var repo = TestRepository.Create(dir, s3, seed);
        var policy = await repo.Cli.RunAsync(["policy", "--bucket", bucket, "--prefix", s3.Prefix, "--role", "put-only"]);
        Assert.True(policy.ExitCode == 0, policy.ToString());
        using (var admin = S3Env.Sdk()) await S3Users.CreateBucketAsync(admin, bucket, JsonNode.Parse(policy.Stdout)!.AsObject(), S3Users.PutOnlyUser);

        // The admin: a repository of 1 MiB packs, a write-only key for db1 and its enrolment file.
        await repo.OkAsync(["init", .. DedupCli.InitOptions], admin: true);
        var hostPassword = dir.Combine("db1.pass");
        File.WriteAllText(hostPassword, "db1 password\n");
        var enrolment = dir.Combine("db1.enrol");
        await repo.OkAsync(["key", "add", "--write-only", "--host", "db1", "--new-password-file", hostPassword, "--enroll", enrolment,
            "--argon2-memory", "64", "--argon2-iterations", "1"], admin: true);

        // The host reaches S3 only through the proxy, with the put-only user; its state and cache are its own.
        await using var proxy = new FaultProxy(ProxyFaultTests.Upstream);
        var via = s3.UrlVia(proxy.Port);
        var host = new Dictionary<string, string?>
        {
            ["DEDUP_PASSWORD_FILE"] = hostPassword, ["DEDUP_STATE_DIR"] = dir.Combine("db1-state"), ["DEDUP_CACHE_DIR"] = dir.Combine("db1-cache"),
        };
        await repo.OkAsync(["enroll", enrolment], env: host, url: via);
        var denied = await repo.RunAsync(["snapshots"], url: s3.Url, env: new Dictionary<string, string?> { ["DEDUP_PASSWORD_FILE"] = hostPassword });
        Assert.True(denied.ExitCode != 0, $"without its enrolment the put-only host opened the repository: {denied}");

        // 24 MiB that does not compress, so bytes stored track bytes of content.
        var src = dir.Combine("src");
        long total = WriteTree(src, seed);
        var digest = DataGen.Digest(src);
        string[] backup = [.. TestRepository.BackupArgs(src, "db1")];

        // 1. Killed the moment 8 MiB went up: packs are stored, no snapshot.
        var before = await s3.SizesAsync("data");
        DedupProcess? victim = null;
        long killedAt = 0;
        proxy.At(proxy.UpstreamBytes + KillAfterBytesUp, x =>
        {
            killedAt = x.UpstreamBytes;
            Volatile.Read(ref victim)?.Kill();
        });
        CliResult killed;
        using (var p = repo.Start(backup, env: host, url: via))
        {
            Volatile.Write(ref victim, p);
            killed = await p.WaitAsync();
        }
        Assert.True(killed.Killed, $"[seed {seed}] the backup was not killed mid-way (kill armed at {KillAfterBytesUp >> 20} MiB up, fired at {killedAt} bytes): {killed}");
        Assert.Empty(await s3.ListAsync("snapshots"));
        var afterKill = await s3.SizesAsync("data");
        var firstPacks = afterKill.Keys.Except(before.Keys).ToList();
        long firstBytes = firstPacks.Sum(k => afterKill[k]);
        Assert.True(firstPacks.Count >= 3 && firstBytes >= 3L << 20, $"[seed {seed}] the killed run stored only {firstPacks.Count} packs, {firstBytes} bytes");
        Assert.True(firstBytes < total - (4L << 20), $"[seed {seed}] the killed run stored {firstBytes} of {total} bytes: it was not killed mid-way");

        // 2. The next run stores only the rest: no pack of the killed run is stored again.
        long upBefore = proxy.UpstreamBytes;
        var resumed = await repo.OkAsync(backup, env: host, url: via, context: " resumed backup");
        long upResumed = proxy.UpstreamBytes - upBefore;
        var afterResume = await s3.SizesAsync("data");
        var secondPacks = afterResume.Keys.Except(afterKill.Keys).ToList();
        long secondBytes = secondPacks.Sum(k => afterResume[k]);
        Assert.Equal(afterKill.Keys.Order(), afterResume.Keys.Intersect(afterKill.Keys).Order()); // nothing was overwritten or lost
        // What the killed run lost: packs whose PUT the server completed while the process died before it journaled
        // them (at most the uploads in flight: BackupOptions.UploadConcurrency, 2), as a dry-run prune sees them with no grace (else it would not yet count fresh packs that no index lists).
        var prune = (await repo.OkAsync(["prune", "--dry-run", "--grace", "0", "--max-backup-age", "0", "--json"], admin: true)).Json();
        int lostPacks = prune.GetProperty("packs_unused").GetInt32() + prune.GetProperty("orphan_packs").GetInt32();
        Assert.True(lostPacks <= 2, $"[seed {seed}] {lostPacks} packs are unused after the resumed run ({prune}): it did not reuse the killed run's packs");
        long lostBytes = prune.GetProperty("bytes_unused").GetInt64() + (lostPacks * firstPacks.Max(k => afterKill[k]));
        // Packs carry content plus a little framing and encryption; the slack is far below the 3+ MiB a re-upload would add.
        long expectedRest = total - firstBytes;
        Assert.True(secondBytes <= expectedRest + lostBytes + (total / 50) + (64 << 10),
            $"[seed {seed}] the resumed run stored {secondBytes} bytes in {secondPacks.Count} packs, the killed one {firstBytes} in {firstPacks.Count}, of {total}: it re-uploaded what was stored");
        Assert.True(secondBytes >= expectedRest - (total / 50), $"[seed {seed}] the resumed run stored only {secondBytes} bytes; {expectedRest} were missing");
        var summary = resumed.Json();
        long added = summary.GetProperty("bytes_added").GetInt64();
        Assert.True(added <= total - firstBytes + lostBytes + (total / 50), $"[seed {seed}] the resumed run reports {added} bytes added");
        var id = summary.GetProperty("snapshot_id").GetString()!;
        Assert.Single(await s3.ListAsync("snapshots"));

        // 3. The admin restores it byte-identical, and reads and verifies every pack.
        var target = dir.Combine("restored");
        await repo.OkAsync(["restore", id, "--target", target], admin: true);
        repo.VerifyRestored(new KnownSnapshot(id, src, digest, "resumed put-only backup"), target, "admin restore");
        await repo.OkAsync(["check", "--read-data"], admin: true);
        var listed = await repo.OkAsync(["snapshots"], env: host, url: via);
        Assert.Contains(id[..8], listed.Stdout);
        Assert.Contains("1 snapshots this host stored", listed.Stdout);

        output.WriteLine($"seed {seed}: {total} bytes of content; killed after {killedAt} bytes up with {firstPacks.Count} packs ({firstBytes} bytes) stored; "
                         + $"the resumed run stored {secondPacks.Count} packs ({secondBytes} bytes; {upResumed} bytes up in all, {added} bytes added); "
                         + $"{lostPacks} packs of the killed run unused");
    }

    /// <summary>Incompressible files: five of 4 MiB, four of 1 MiB, and a few small ones.</summary>
    private static long WriteTree(string root, int seed)
    {
        Directory.CreateDirectory(Path.Join(root, "db"));
        long total = 0;
        void Write(string name, int size)
        {
            File.WriteAllBytes(Path.Join(root, name), DataGen.RandomBytes(seed + (int)total % 9973, size));
            total += size;
        }
        for (int i = 0; i < 5; i++) Write($"db/large-{i}.bin", 4 << 20);
        for (int i = 0; i < 4; i++) Write($"medium-{i}.bin", 1 << 20);
        for (int i = 0; i < 6; i++) Write($"small-{i}.txt", 1000 + (i * 777));
        return total;
    }
}
