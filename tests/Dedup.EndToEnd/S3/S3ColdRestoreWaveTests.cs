using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using Dedup.Storage.S3;
using Dedup.TestKit;
using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>
/// Restore as packs thaw, and archived tree packs (spec threat 39), through the CLI against the real S3 server with
/// the archive emulation (DEDUP_EMULATE_ARCHIVE; its clock moves only when the test says: frozen, or auto while waiting).
/// </summary>
[Collection("S3")]
public sealed class S3ColdRestoreWaveTests : S3ColdTestBase
{
    private static async Task<HashSet<string>> GlacierAsync(string prefix) =>
        (await ClassesAsync(S3Env.Bucket, prefix)).Where(c => c.Value == "GLACIER").Select(c => c.Key).ToHashSet();

    [Fact]
    public async Task Files_are_restored_as_their_packs_thaw_and_a_kill_while_waiting_then_a_rerun_ends_identical()
    {
        var (url, prefix) = NewRepo(S3Env.Bucket, "cold-waves");
        var client = S3Env.Client;
        var src = Cli.Dir.CreateDirectory("src");
        WriteFiles(Path.Combine(src, "a"), 50);
        Init(client, url);
        Ok(client, url, ["--s3-storage-class", "GLACIER", "backup", src]);
        var packsOfA = await GlacierAsync(prefix);
        WriteFiles(Path.Combine(src, "b"), 60);
        Ok(client, url, ["--s3-storage-class", "GLACIER", "backup", src]);
        var packsOfB = (await GlacierAsync(prefix)).Except(packsOfA).ToHashSet();
        Assert.NotEmpty(packsOfB);

        // a's packs were asked for earlier, by a restore of a/ alone that was killed while it waited.
        EmulatedArchiveClock.Set(EmulationState, "frozen", TimeSpan.Zero);
        using (var onlyA = Cli.StartWith(["-r", url, "restore", "latest", "--target", Cli.Dir.Combine("only-a"), "--include", Path.Combine(src, "a"),
                   "--retrieve-tier", "standard"], client.Env(Emulated)))
        {
            onlyA.WaitForLine("retrieval: 0/", TimeSpan.FromMinutes(2));
            onlyA.Signal("KILL");
            onlyA.WaitForExit(TimeSpan.FromMinutes(1));
        }
        Assert.Equal(packsOfA.Order(), ArchiveEmulatingStorage.RequestedNames(EmulationState));

        // Six hours on, the clock frozen there: a's packs have thawed (5 h), b's are requested now and take 5 h more.
        EmulatedArchiveClock.Set(EmulationState, "frozen", TimeSpan.FromHours(6));
        var target = Cli.Dir.Combine("t");
        string[] restoreAll = ["restore", "latest", "--target", target, "--retrieve-tier", "standard"];
        using (var waiting = Cli.StartWith(["-r", url, .. restoreAll], client.Env(Emulated)))
        {
            var wave = waiting.WaitForLine("wave 1:", TimeSpan.FromMinutes(2));
            Assert.Contains("restored 3 file(s)", wave, StringComparison.Ordinal);
            Assert.Contains($"3 file(s) wait for {packsOfB.Count} pack(s) still being retrieved", wave, StringComparison.Ordinal);
            // The process now waits for b's packs, and a's files are on disk, whole; nothing else is.
            Assert.Equal(["a/f0.bin", "a/f1.bin", "a/f2.bin"],
                Directory.EnumerateFiles(target + src, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(target + src, f)).Order(StringComparer.Ordinal));
            for (int i = 0; i < 3; i++)
                Assert.Equal(File.ReadAllBytes(Path.Combine(src, "a", $"f{i}.bin")), File.ReadAllBytes(Path.Combine(target + src, "a", $"f{i}.bin")));
            waiting.Signal("KILL");
            Assert.NotEqual(0, waiting.WaitForExit(TimeSpan.FromMinutes(1)).ExitCode);
        }
        Assert.Equal(packsOfA.Union(packsOfB).Order(), ArchiveEmulatingStorage.RequestedNames(EmulationState));

        // The re-run, on a clock that moves as it waits: its first wave finds a's files complete and keeps them, the
        // wave after b's packs thaw writes b's files and the directories' metadata.
        EmulatedArchiveClock.Set(EmulationState, "auto", TimeSpan.FromHours(6));
        var done = Ok(client, url, [.. restoreAll, "--json"], Emulated);
        var waves = JsonOutput.Lines(done.Stdout).Where(l => l.GetProperty("message_type").GetString() == "restore_wave").ToList();
        Assert.Equal([(1, 3L, 3L, false), (2, 3L, 0L, true)], waves.Select(w =>
            (w.GetProperty("wave").GetInt32(), w.GetProperty("files").GetInt64(), w.GetProperty("deferred").GetInt64(), w.GetProperty("last").GetBoolean())));
        var summary = JsonOutput.Result(done.Stdout);
        Assert.Equal((6L, 3L), (summary.GetProperty("files").GetInt64(), summary.GetProperty("unchanged").GetInt64()));
        Assert.Equal(DataGen.Digest(src), DataGen.Digest(target + src));
        foreach (var dir in new[] { "a", "b" })
            Assert.Equal(Directory.GetLastWriteTimeUtc(Path.Combine(src, dir)), Directory.GetLastWriteTimeUtc(Path.Combine(target + src, dir)));
        Assert.Equal(packsOfA.Union(packsOfB).Order(), ArchiveEmulatingStorage.RequestedNames(EmulationState));
    }

    /// <summary>
    /// Spec threat 39. The attacker is a backup host: the client S3 credentials (Put/Get/List) and a write-only host key,
    /// running a patched client that asks for GLACIER on every put, tree packs included (as
    /// ColdStorageTests.EverythingColdClient). Here the host backs up with the stock client and the class, and then puts
    /// each of its tree packs again, same bytes, with GLACIER: the end state the patched client leaves (RGW lets the put
    /// replace the object). The admin's restore plans the tree packs, retrieves them first, and restores every file;
    /// nothing is deleted and nothing is called damage.
    /// </summary>
    [Fact]
    public async Task Tree_packs_a_host_put_in_glacier_are_planned_and_retrieved_first_and_the_restore_completes()
    {
        var (url, prefix) = NewRepo(S3Env.Bucket, "cold-trees");
        var admin = S3Env.Admin;
        var host = S3Env.Client;
        Init(admin, url);
        var pass = Cli.Dir.Combine("web1.pass");
        File.WriteAllText(pass, "web1 password");
        var key = JsonDocument.Parse(Ok(admin, url, ["key", "add", "--write-only", "--host", "web1", "--new-password-file", pass, "--json", .. DedupCli.FastKdf]).Stdout)
            .RootElement.GetProperty("id").GetString()!;
        var web1 = new Dictionary<string, string?> { ["DEDUP_PASSWORD_FILE"] = pass, ["DEDUP_CACHE_DIR"] = Cli.Dir.Combine("cache-web1"), ["DEDUP_KEY"] = key };
        var src = Cli.Dir.CreateDirectory("src");
        WriteFiles(Path.Combine(src, "a"), 70);
        Ok(host, url, ["--s3-storage-class", "GLACIER", "backup", src, "--host", "web1"], web1);
        WriteFiles(Path.Combine(src, "b"), 80);
        Ok(host, url, ["--s3-storage-class", "GLACIER", "backup", src, "--host", "web1"], web1);

        var classes = await ClassesAsync(S3Env.Bucket, prefix);
        var treePacks = classes.Where(c => c.Key.StartsWith("data/", StringComparison.Ordinal) && c.Value != "GLACIER").Select(c => c.Key).ToList();
        Assert.NotEmpty(treePacks);
        using (var attacker = S3Env.Sdk(host))
            foreach (var name in treePacks)
            {
                using var get = await attacker.GetObjectAsync(S3Env.Bucket, prefix + "/" + name);
                var bytes = new MemoryStream();
                await get.ResponseStream.CopyToAsync(bytes);
                await attacker.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = S3Env.Bucket, Key = prefix + "/" + name, InputStream = new MemoryStream(bytes.ToArray()), StorageClass = S3StorageClass.Glacier,
                });
            }
        var before = await ClassesAsync(S3Env.Bucket, prefix);
        Assert.All(before.Where(c => c.Key.StartsWith("data/", StringComparison.Ordinal)), c => Assert.Equal("GLACIER", c.Value));

        // ls cannot read the trees: one line naming the object, not damage. check warns, names each, and what to run.
        AssertOneLineError(Run(admin, url, ["ls", "latest"], Emulated), "archive storage class", "data/");
        var check = Run(admin, url, ["check"], Emulated);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains(treePacks, p => (check.Stdout + check.Stderr).Contains($"{p}: archived in GLACIER and not retrieved: it holds trees", StringComparison.Ordinal));
        Assert.DoesNotContain("damage", check.Stdout + check.Stderr, StringComparison.OrdinalIgnoreCase);
        var target = Cli.Dir.Combine("t");
        // --plan lists the tree packs it met (what is below them it cannot see yet), with their cost; requests nothing.
        var plan = JsonOutput.Lines(Ok(admin, url, ["restore", "latest", "--target", target, "--plan", "--json"], Emulated).Stdout);
        var trees = plan.Single(l => l.GetProperty("message_type").GetString() == "restore_tree_plan");
        Assert.True(trees.GetProperty("tree_packs").GetInt32() >= 1);
        Assert.Subset(treePacks.ToHashSet(), trees.GetProperty("unreadable").EnumerateArray().Select(p => p.GetProperty("name").GetString()!).ToHashSet());
        Assert.True(trees.GetProperty("tiers").EnumerateArray().First(t => t.GetProperty("tier").GetString() == "expedited").GetProperty("cost_usd").GetDecimal() > 0);
        Assert.Equal("restore_plan", plan[^1].GetProperty("message_type").GetString());
        Assert.Contains("trees:", Ok(admin, url, ["restore", "latest", "--target", target, "--plan"], Emulated).Stdout, StringComparison.Ordinal);
        Assert.Empty(ArchiveEmulatingStorage.RequestedNames(EmulationState));

        // --retrieve-tier: the tree packs first (level by level), then the data packs; every file comes back.
        EmulatedArchiveClock.Set(EmulationState, "auto", TimeSpan.Zero);
        var done = Ok(admin, url, ["restore", "latest", "--target", target, "--retrieve-tier", "standard"], Emulated);
        Assert.Contains("tree pack(s) this restore must read are in an archive class", done.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("damage", done.Stdout + done.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(DataGen.Digest(src), DataGen.Digest(target + src));
        // Exactly the snapshot's packs were retrieved (every pack here: the two backups' trees and data), nothing deleted.
        Assert.Equal(before.Keys.Where(k => k.StartsWith("data/", StringComparison.Ordinal)).Order(), ArchiveEmulatingStorage.RequestedNames(EmulationState));
        Assert.Equal(before.Keys, (await ClassesAsync(S3Env.Bucket, prefix)).Keys);
    }
}
