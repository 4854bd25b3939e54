using System.Globalization;
using System.Text.Json;
using Amazon.S3.Model;
using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>
/// Recovery as of a time on the real server (issue 15 A, spec/versioned-recovery.md, threats 31-33): an attacker with
/// the ADMIN credentials deletes and overwrites every kind of object with raw S3 calls; reading as of the moment before
/// gets everything back byte-identical without writing to the bucket, and 'rollback' makes that state current again.
/// The moment is the server's own LastModified (version listings carry milliseconds on RGW 16; HEAD only seconds).
/// </summary>
[Collection("S3")]
public sealed class S3AsOfTests : S3TestBase
{
    private readonly List<(string Bucket, string Prefix)> _versioned = [];

    private sealed record Version(string Key, string VersionId, bool IsDeleteMarker, DateTimeOffset LastModified);

    private (string Url, string Prefix) NewVersionedRepo(string bucket, string purpose)
    {
        var fresh = NewRepo(bucket, purpose);
        _versioned.Add((bucket, fresh.Prefix));
        return fresh;
    }

    private static async Task<List<Version>> VersionsAsync(string bucket, string prefix)
    {
        using var s3 = S3Env.Sdk(S3Env.Admin);
        var all = new List<Version>();
        var request = new ListVersionsRequest { BucketName = bucket, Prefix = prefix + "/" };
        ListVersionsResponse page;
        do
        {
            page = await s3.ListVersionsAsync(request);
            foreach (var v in page.Versions ?? [])
                all.Add(new Version(v.Key, v.VersionId, v.IsDeleteMarker == true, new DateTimeOffset(v.LastModified!.Value.ToUniversalTime())));
            request.KeyMarker = page.NextKeyMarker;
            request.VersionIdMarker = page.NextVersionIdMarker;
        } while (page.IsTruncated == true);
        return all;
    }

    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static HashSet<string> SnapshotIds(CliResult r) =>
        JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToHashSet();

    /// <summary>Each admin run gets a fresh cache, so nothing it reads can come from what an earlier run cached.</summary>
    private Dictionary<string, string?> FreshCache() => new() { ["DEDUP_CACHE_DIR"] = Cli.Dir.Combine("cache-" + Guid.NewGuid().ToString("N")[..8]) };

    private CliResult Admin(string url, params string[] args) => Ok(S3Env.Admin, url, args, FreshCache());

    [Theory]
    [InlineData("versioned")]
    [InlineData("locked")]
    public async Task After_an_admin_credential_attack_reading_as_of_before_it_and_rolling_back_lose_no_file(string kind)
    {
        var bucket = kind == "locked" ? S3Env.LockedBucket : S3Env.VersionedBucket;
        var (url, prefix) = NewVersionedRepo(bucket, "asof");
        var (decoyUrl, decoyPrefix) = NewVersionedRepo(bucket, "decoy");
        var src = Cli.Dir.Combine("src");
        TreeFixture.Build(src, seed: 15);
        Init(S3Env.Client, url);
        var first = JsonOutput.Result(Ok(S3Env.Client, url, ["backup", src, "--json"]).Stdout).GetProperty("snapshot_id").GetString()!;
        var extra = Path.Combine(src, "extra.bin");
        File.WriteAllBytes(extra, RandomBytes(600_000, 1515));
        var second = JsonOutput.Result(Ok(S3Env.Client, url, ["backup", src, "--json"]).Stdout).GetProperty("snapshot_id").GetString()!;
        // Another repository, for a config and key file that look valid.
        Init(S3Env.Client, decoyUrl);

        var before = await VersionsAsync(bucket, prefix);
        var moment = before.Max(v => v.LastModified);
        var names = before.Select(v => v.Key[(prefix.Length + 1)..]).ToList();
        string[] Of(string folder) => names.Where(n => n.StartsWith(folder, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        var packs = Of("data/");
        var indexes = Of("index/");
        var keys = Of("keys/");
        Assert.Equal(2, Of("snapshots/").Length);
        Assert.True(packs.Length >= 2, $"{packs.Length} packs");

        // The attack, with the admin's credentials and raw S3 calls: delete and overwrite one of everything.
        var expected = new SortedDictionary<string, string>(StringComparer.Ordinal);
        using (var s3 = S3Env.Sdk(S3Env.Admin))
        {
            async Task Delete(string name) => await s3.DeleteObjectAsync(bucket, $"{prefix}/{name}");
            async Task Put(string name, byte[] body) =>
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = $"{prefix}/{name}", InputStream = new MemoryStream(body) });
            async Task<byte[]> Get(string key)
            {
                using var r = await s3.GetObjectAsync(bucket, key);
                using var m = new MemoryStream();
                await r.ResponseStream.CopyToAsync(m);
                return m.ToArray();
            }

            await Delete($"snapshots/{first}");
            expected[$"snapshots/{first}"] = "restore";
            await Put($"snapshots/{second}", RandomBytes(300, 1));
            expected[$"snapshots/{second}"] = "revert";
            await Delete(indexes[0]);
            expected[indexes[0]] = "restore";
            for (int i = 1; i < indexes.Length; i++)
            {
                await Put(indexes[i], RandomBytes(1000, 2));
                expected[indexes[i]] = "revert";
            }
            for (int i = 0; i < packs.Length; i++)
            {
                if (i % 2 == 0) await Delete(packs[i]);
                else await Put(packs[i], RandomBytes(5000, 3 + i));
                expected[packs[i]] = i % 2 == 0 ? "restore" : "revert";
            }
            // Config and key: the decoy repository's, valid objects of another repository with the same password.
            await Put("config", await Get($"{decoyPrefix}/config"));
            expected["config"] = "revert";
            var decoyKey = (await S3Env.ListAsync(bucket, decoyPrefix)).Keys.First(k => k.Contains("/keys/", StringComparison.Ordinal));
            foreach (var key in keys)
            {
                await Put(key, await Get(decoyKey));
                expected[key] = "revert";
            }
            var planted = "snapshots/" + Convert.ToHexStringLower(RandomBytes(32, 4));
            await Put(planted, RandomBytes(400, 5));
            expected[planted] = "newer";
        }
        var attacked = await VersionsAsync(bucket, prefix);
        var attackVersions = attacked.Where(v => before.All(b => b.VersionId != v.VersionId)).ToList();
        Assert.True(attackVersions.Count >= expected.Count, $"{attackVersions.Count} new versions");
        Assert.All(attackVersions, v => Assert.True(v.LastModified > moment, $"{v.Key} of the attack at {v.LastModified:O}, not after {moment:O}"));

        // Without --as-of the damage shows: the repository no longer opens as it was.
        var damaged = Run(S3Env.Admin, url, ["snapshots", "--json"], FreshCache());
        Assert.True(damaged.ExitCode != 0 || !SnapshotIds(damaged).SetEquals([first, second]), $"the attack did not show: {damaged}");

        // Reading as of the moment before: nothing is written. These are the commands of the README's "Recovery as of a
        // time" (snapshots, check --read-data, restore latest --target, copy --from-as-of; rollback --dry-run,
        // rollback --remove-newer, check --read-data below), with this test's URL and moment.
        var at = Stamp(moment);
        Assert.Equal([first, second], SnapshotIds(Admin(url, "snapshots", "--as-of", at, "--json")));
        Assert.Contains(second[..8], Admin(url, "snapshots", "--as-of", at).Stdout);
        Admin(url, "check", "--read-data", "--as-of", at);
        var restored = Cli.Dir.Combine("restored-asof");
        Admin(url, "restore", "latest", "--target", restored, "--as-of", at);
        TreeFixture.AssertSame(src, Path.Join(restored, Path.GetFullPath(src)));
        Assert.Contains("extra.bin", Admin(url, "ls", second, "--as-of", at).Stdout);
        Assert.Equal(File.ReadAllBytes(extra), Admin(url, "dump", second, extra, "--as-of", at).StdoutBytes);
        Assert.Contains("extra.bin", Admin(url, "diff", first, second, "--as-of", at).Stdout);
        Admin(url, "stats", "--as-of", at);
        // mount shows the repository as of the moment (a real FUSE mount; files read through it are the originals).
        var mountPoint = Cli.Dir.CreateDirectory("mnt-asof");
        using (var mount = Cli.StartWith(["-r", url, "mount", mountPoint, "--as-of", at], S3Env.Admin.Env(FreshCache())))
        {
            try
            {
                mount.WaitForLine("Mounted ", TimeSpan.FromMinutes(2));
                TreeFixture.AssertSame(src, Path.Join(mountPoint, "ids", second[..8], Path.GetFullPath(src)));
                Assert.False(File.Exists(Path.Join(mountPoint, "ids", first[..8], extra)));
                Assert.Equal(0, Dedup.TestKit.Tool.Run("fusermount3", "-u", mountPoint).ExitCode);
                var ended = mount.WaitForExit(TimeSpan.FromMinutes(2));
                Assert.True(ended.ExitCode == 0, $"dedup mount --as-of: {ended}");
            }
            finally
            {
                Dedup.TestKit.MountTable.ForceUnmount(mountPoint);
            }
        }
        // copy reads its source as of the moment.
        Assert.Equal(0, Cli.Init().ExitCode);
        var copied = Cli.Run(["-r", Cli.Repo, "copy", "--from-repo", url, "--from-as-of", at],
            S3Env.Admin.Env(new() { ["DEDUP_FROM_PASSWORD_FILE"] = Cli.PasswordFile }));
        Assert.True(copied.ExitCode == 0, copied.ToString());
        Assert.Contains("2 snapshot(s) copied", copied.Stdout);
        Assert.Equal(attacked.Select(v => v.VersionId).Order(), (await VersionsAsync(bucket, prefix)).Select(v => v.VersionId).Order());

        // The dry run lists exactly the attack's changes, and changes nothing; client credentials may not roll back.
        var plan = JsonOutput.Lines(Admin(url, "rollback", "--to", at, "--dry-run", "--json").Stdout);
        var changes = plan.Where(l => l.GetProperty("message_type").GetString() == "change")
            .ToDictionary(l => l.GetProperty("name").GetString()!, l => l.GetProperty("kind").GetString()!);
        Assert.Equal(expected, new SortedDictionary<string, string>(changes, StringComparer.Ordinal));
        var summary = plan[^1];
        Assert.True(summary.GetProperty("dry_run").GetBoolean());
        Assert.Equal(expected.Count(e => e.Value == "restore"), summary.GetProperty("restored").GetInt32());
        Assert.Contains("keep", Admin(url, "rollback", "--to", at, "--dry-run").Stdout);
        AssertOneLineError(Run(S3Env.Client, url, ["rollback", "--to", at], FreshCache()), "cannot delete", "admin");
        Assert.Equal(attacked.Select(v => v.VersionId).Order(), (await VersionsAsync(bucket, prefix)).Select(v => v.VersionId).Order());

        // The rollback, then plain reads: everything as it was, the planted snapshot hidden, and no version lost.
        Assert.Contains("changed " + expected.Count, Admin(url, "rollback", "--to", at, "--remove-newer").Stdout);
        Admin(url, "check", "--read-data");
        Assert.Equal([first, second], SnapshotIds(Admin(url, "snapshots", "--json")));
        var after = Cli.Dir.Combine("restored-after");
        Admin(url, "restore", "latest", "--target", after);
        TreeFixture.AssertSame(src, Path.Join(after, Path.GetFullPath(src)));
        File.Delete(extra);
        var older = Cli.Dir.Combine("restored-first");
        Admin(url, "restore", first, "--target", older);
        TreeFixture.AssertSame(src, Path.Join(older, Path.GetFullPath(src)));
        var final = await VersionsAsync(bucket, prefix);
        Assert.All(attacked.Where(v => !v.IsDeleteMarker), v => Assert.Contains(final, f => f.VersionId == v.VersionId));
        Assert.Empty(JsonOutput.Lines(Admin(url, "rollback", "--to", at, "--dry-run", "--json").Stdout).SkipLast(1));
    }

    [Fact]
    public async Task A_pack_a_backup_host_overwrote_on_a_server_ignoring_create_only_is_repaired_by_rollback()
    {
        // RGW ignores If-None-Match on versioned buckets (threat 12): a compromised host's client credentials can
        // overwrite a pack. The old version stays, and the admin's rollback brings it back.
        var bucket = S3Env.VersionedBucket;
        var (url, prefix) = NewVersionedRepo(bucket, "asof-client");
        var src = Cli.Dir.CreateDirectory("src");
        File.WriteAllBytes(Path.Combine(src, "data.bin"), RandomBytes(1 << 20, 3232));
        Init(S3Env.Client, url);
        Ok(S3Env.Client, url, ["backup", src]);
        var before = await VersionsAsync(bucket, prefix);
        var moment = before.Max(v => v.LastModified);
        var pack = before.First(v => v.Key.Contains("/data/", StringComparison.Ordinal));
        using (var client = S3Env.Sdk(S3Env.Client))
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = pack.Key, InputStream = new MemoryStream(RandomBytes(4000, 6)) });
        var overwrite = Assert.Single(await VersionsAsync(bucket, prefix), v => before.All(b => b.VersionId != v.VersionId));
        Assert.True(overwrite.LastModified > moment, $"overwrite at {overwrite.LastModified:O}, not after {moment:O}");
        Assert.NotEqual(0, Run(S3Env.Admin, url, ["check", "--read-data"], FreshCache()).ExitCode);

        var at = Stamp(moment);
        var changes = JsonOutput.Lines(Admin(url, "rollback", "--to", at, "--json").Stdout).SkipLast(1).ToList();
        var change = Assert.Single(changes);
        Assert.Equal(pack.Key[(prefix.Length + 1)..], change.GetProperty("name").GetString());
        Assert.Equal("copy", change.GetProperty("action").GetString());
        Admin(url, "check", "--read-data");
        var restored = Cli.Dir.Combine("restored");
        Admin(url, "restore", "latest", "--target", restored);
        Assert.Equal(File.ReadAllBytes(Path.Combine(src, "data.bin")), File.ReadAllBytes(Path.Join(restored, Path.GetFullPath(src), "data.bin")));
    }

    [Fact]
    public async Task As_of_and_rollback_refuse_what_they_cannot_do_in_one_line()
    {
        var (plain, _) = NewRepo(S3Env.Bucket, "asof-plain");
        var (versioned, versionedPrefix) = NewVersionedRepo(S3Env.VersionedBucket, "asof-refuse");
        var (never, _) = NewVersionedRepo(S3Env.VersionedBucket, "asof-never");
        Init(S3Env.Client, plain);
        Init(S3Env.Client, versioned);
        AssertOneLineError(Run(S3Env.Admin, plain, ["snapshots", "--as-of", "1h"]), "no versioning");
        AssertOneLineError(Run(S3Env.Admin, plain, ["rollback", "--to", "1h", "--dry-run"]), "no versioning");
        Assert.Equal(0, Cli.Init().ExitCode);
        AssertOneLineError(Cli.Run(["-r", Cli.Repo, "snapshots", "--as-of", "1h"]), "versioned S3 bucket", "local folder");
        AssertOneLineError(Cli.Run(["-r", Cli.Repo, "rollback", "--to", "1h"]), "versioned S3 bucket", "local folder");
        var src = Cli.Dir.CreateDirectory("src");
        AssertOneLineError(Run(S3Env.Client, versioned, ["backup", src, "--as-of", "1h"]), "does not go with 'backup'");
        AssertOneLineError(Run(S3Env.Admin, versioned, ["forget", "--keep-last", "1", "--as-of", "1h"]), "does not go with 'forget'");
        AssertOneLineError(Run(S3Env.Admin, versioned, ["prune", "--as-of", "1h"]), "does not go with 'prune'");
        AssertOneLineError(Run(S3Env.Admin, versioned, ["rollback", "--to", "1h", "--as-of", "1h"]), "does not go with 'rollback'");
        AssertOneLineError(Run(S3Env.Admin, Cli.Repo, ["copy", "--from-repo", versioned, "--as-of", "1h"]), "--from-as-of");
        AssertOneLineError(Run(S3Env.Admin, versioned, ["snapshots", "--as-of", "yesterday"]), "is not a time");
        AssertOneLineError(Run(S3Env.Admin, versioned, ["rollback", "--to", "2999-01-01"]), "in the future");
        // Before the repository existed there is nothing to read, and the error says when it was created instead of
        // suggesting 'dedup init'; where it never was, it says so; where its config was deleted, it says that.
        var created = (await VersionsAsync(S3Env.VersionedBucket, versionedPrefix)).Single(v => v.Key == $"{versionedPrefix}/config").LastModified;
        AssertOneLineError(Run(S3Env.Admin, versioned, ["snapshots", "--as-of", "2001-01-01"]), "did not exist yet at 2001-01-01",
            $"created at {created.ToUniversalTime():yyyy-MM-dd HH:mm:ss}");
        AssertOneLineError(Run(S3Env.Admin, never, ["snapshots", "--as-of", "1h"]), "no version of its config exists");
        AssertOneLineError(Cli.Run(["-r", Cli.Repo, "copy", "--from-repo", versioned, "--from-as-of", "2001-01-01"],
            S3Env.Admin.Env(new() { ["DEDUP_FROM_PASSWORD_FILE"] = Cli.PasswordFile })), "did not exist yet");
        using (var s3 = S3Env.Sdk(S3Env.Admin)) await s3.DeleteObjectAsync(S3Env.VersionedBucket, $"{versionedPrefix}/config");
        var deleted = Run(S3Env.Admin, versioned, ["snapshots", "--as-of", DateTimeOffset.UtcNow.AddMinutes(1).ToString("yyyy-MM-ddTHH:mm:ssZ")]);
        AssertOneLineError(deleted, "had no config", "rollback --to TIME --dry-run");
        Assert.DoesNotContain("dedup init", deleted.Stderr);
    }

    public override void Dispose()
    {
        // Versioned buckets keep every version: remove them all (no retention is set on these objects).
        foreach (var (bucket, prefix) in _versioned)
        {
            try
            {
                using var s3 = S3Env.Sdk(S3Env.Admin);
                foreach (var v in VersionsAsync(bucket, prefix).GetAwaiter().GetResult())
                    s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket, Key = v.Key, VersionId = v.VersionId }).GetAwaiter().GetResult();
            }
            catch (Amazon.S3.AmazonS3Exception)
            {
            }
        }
        base.Dispose();
    }
}
