using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.S3;
using Amazon.S3.Model;
using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>
/// Object Lock, managed (issue 15 B, spec/object-lock.md) on the real server. The governance tests use a bucket of their
/// own (a default retention is bucket-wide and counts in days, so the shared locked bucket keeps none), whose backup
/// user holds exactly what 'dedup policy --role client' prints; the bucket is emptied with a governance bypass at the
/// end. The compliance test locks objects of the shared locked bucket per object, for seconds only.
/// </summary>
[Collection("S3")]
public sealed class S3RetentionTests : S3TestBase
{
    private readonly string _bucket = $"dedup-e2e-lock-{Guid.NewGuid():N}"[..32];
    private const string Prefix = "repo";
    private bool _bucketCreated;

    private string Url => $"s3:{S3Env.Endpoint}/{_bucket}/{Prefix}";

    /// <summary>
    /// The README's "Object Lock, managed by Dedup" commands: init with a retention (README: dedup init --retention-mode
    /// governance --retention-period 30d; the test adds only its fast key-derivation settings), then a client backs up.
    /// </summary>
    [Fact]
    public async Task Backups_carry_the_default_retention_extend_is_idempotent_and_the_client_cannot_shorten_or_delete()
    {
        await CreateLockedBucketWithClientPolicyAsync();
        var init = Ok(S3Env.Admin, Url, ["init", "--retention-mode", "governance", "--retention-period", "30d", .. DedupCli.FastKdf]);
        Assert.Contains("locked for 30 days in governance mode", init.Stdout);
        // README: dedup retention show
        Assert.Contains("governance, 30 days", Ok(S3Env.Admin, Url, ["retention", "show"]).Stdout);
        var shown = JsonOutput.Result(Ok(S3Env.Admin, Url, ["retention", "show", "--json"]).Stdout);
        Assert.Equal("governance", shown.GetProperty("mode").GetString());
        Assert.Equal(30, shown.GetProperty("days").GetInt32());

        var src = Cli.Dir.Combine("src");
        TreeFixture.Build(src, seed: 151);
        var started = DateTimeOffset.UtcNow;
        Ok(S3Env.Client, Url, ["backup", src]);
        // The printed client policy lets a full-key host read as of a time (version listing and reads); before the
        // backup there was no snapshot, after it one.
        Assert.Contains("0 snapshots", Ok(S3Env.Client, Url, ["snapshots", "--as-of", started.ToString("yyyy-MM-ddTHH:mm:ss.fffZ")]).Stdout);
        Assert.Single(JsonDocument.Parse(Ok(S3Env.Client, Url, ["snapshots", "--json", "--as-of", DateTimeOffset.UtcNow.AddMinutes(1).ToString("yyyy-MM-ddTHH:mm:ssZ")]).Stdout)
            .RootElement.EnumerateArray());

        // Every object the client wrote, and those init wrote, is locked by the bucket's default: the host asked for nothing.
        var objects = await CurrentRetentionAsync(_bucket, Prefix);
        Assert.Contains(objects.Keys, k => k.Contains("/data/", StringComparison.Ordinal));
        Assert.Contains(objects.Keys, k => k.Contains("/snapshots/", StringComparison.Ordinal));
        foreach (var (key, (mode, until, _)) in objects)
        {
            Assert.True(mode == ObjectLockMode.Governance, $"{key} has lock mode '{mode}'");
            Assert.True(until >= started.AddDays(30).AddMinutes(-5), $"{key} is locked only until {until:O}");
        }

        // extend: every object is below now + 30d + 1h, so all are extended to now + 30d + 2h; a second run touches none.
        var first = JsonOutput.Result(Ok(S3Env.Admin, Url, ["retention", "extend", "--margin", "1h", "--json"]).Stdout);
        Assert.Equal(objects.Count, first.GetProperty("objects").GetInt32());
        Assert.Equal(objects.Count, first.GetProperty("extended").GetInt32());
        var extendedTo = DateTimeOffset.Parse(first.GetProperty("extended_to").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(extendedTo, started.AddDays(30).AddHours(2), DateTimeOffset.UtcNow.AddDays(30).AddHours(2));
        var after = await CurrentRetentionAsync(_bucket, Prefix);
        foreach (var (key, (_, until, _)) in after)
            Assert.True(Math.Abs((until - extendedTo).TotalSeconds) < 1, $"{key} is locked until {until:O}, not {extendedTo:O}");
        var second = JsonOutput.Result(Ok(S3Env.Admin, Url, ["retention", "extend", "--margin", "1h", "--json"]).Stdout);
        Assert.Equal(0, second.GetProperty("extended").GetInt32());
        Assert.Equal(objects.Count, second.GetProperty("objects").GetInt32());
        var text = Ok(S3Env.Admin, Url, ["retention", "extend", "--margin", "1h"]).Stdout;
        Assert.Contains($"0 of {objects.Count} live objects extended", text);

        // The attack, with exactly the backup host's credentials: shorten or remove a lock, bypass governance, delete a
        // version, change the bucket's default. Every request fails, and every lock and byte is as it was.
        var pack = after.Keys.First(k => k.Contains("/data/", StringComparison.Ordinal));
        var version = after[pack].VersionId;
        using (var client = S3Env.Sdk(S3Env.Client))
        {
            await AssertDeniedAsync(() => client.PutObjectRetentionAsync(new PutObjectRetentionRequest
            {
                BucketName = _bucket, Key = pack, VersionId = version, BypassGovernanceRetention = true,
                Retention = new ObjectLockRetention { Mode = ObjectLockRetentionMode.Governance, RetainUntilDate = DateTime.UtcNow.AddMinutes(1) },
            }));
            await AssertDeniedAsync(() => client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = pack, VersionId = version, BypassGovernanceRetention = true }));
            await AssertDeniedAsync(() => client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = pack, VersionId = version }));
            await AssertDeniedAsync(() => client.PutObjectLockConfigurationAsync(new PutObjectLockConfigurationRequest
            {
                BucketName = _bucket,
                ObjectLockConfiguration = new ObjectLockConfiguration
                {
                    ObjectLockEnabled = ObjectLockEnabled.Enabled,
                    Rule = new ObjectLockRule { DefaultRetention = new DefaultRetention { Mode = ObjectLockRetentionMode.Governance, Days = 1 } },
                },
            }));
        }
        Assert.Equal(after, await CurrentRetentionAsync(_bucket, Prefix));
        Assert.Equal(30, JsonOutput.Result(Ok(S3Env.Admin, Url, ["retention", "show", "--json"]).Stdout).GetProperty("days").GetInt32());
        var target = Cli.Dir.Combine("restored");
        Ok(S3Env.Admin, Url, ["restore", "latest", "--target", target]);
        TreeFixture.AssertSame(src, Path.Join(target, Path.GetFullPath(src)));
        // README: dedup retention extend (default margin 7 days: everything, locked to 30d + 2h, is below 30d + 7d).
        var plain = Ok(S3Env.Admin, Url, ["retention", "extend"]).Stdout;
        Assert.Contains($"{objects.Count} of {objects.Count} live objects extended", plain);
    }

    /// <summary>
    /// Prune on a locked bucket: packs stored before the lock was configured leave at once (versions and delete markers);
    /// packs under retention are reported locked until their date and removed by a prune after it.
    /// </summary>
    [Fact]
    public async Task Prune_frees_what_left_retention_reports_the_rest_locked_until_its_date_and_a_later_prune_finishes()
    {
        await CreateLockedBucketWithClientPolicyAsync();
        Init(S3Env.Admin, Url);
        var src = Cli.Dir.Combine("src");
        Directory.CreateDirectory(src);
        var file = Path.Combine(src, "payload.bin");

        // Backup 1 before any retention: its packs carry no lock.
        File.WriteAllBytes(file, RandomBytes(3 << 20, 1));
        Ok(S3Env.Client, Url, ["backup", src]);
        var unlocked = (await PackKeysAsync()).ToHashSet();
        // README: dedup retention set --retention-mode governance --retention-period 30d
        Ok(S3Env.Admin, Url, ["retention", "set", "--retention-mode", "governance", "--retention-period", "30d"]);
        // Backup 2 under the default retention; backup 3 is the one that stays.
        File.WriteAllBytes(file, RandomBytes(3 << 20, 2));
        Ok(S3Env.Client, Url, ["backup", src]);
        var locked = (await PackKeysAsync()).Except(unlocked).ToHashSet();
        File.WriteAllBytes(file, RandomBytes(3 << 20, 3));
        Ok(S3Env.Client, Url, ["backup", src]);
        var kept = (await PackKeysAsync()).Except(unlocked).Except(locked).ToHashSet();
        Assert.NotEmpty(unlocked);
        Assert.NotEmpty(locked);

        Ok(S3Env.Admin, Url, ["forget", "--keep-last", "1"]);
        // --keep-deleted 0: only retention keeps a deleted pack's versions here (the window has a test of its own).
        var prune = JsonOutput.Result(Ok(S3Env.Admin, Url, ["prune", "--grace", "0", "--keep-deleted", "0", "--json"]).Stdout);
        Assert.Equal(unlocked.Count + locked.Count, prune.GetProperty("packs_deleted").GetInt32());
        var versions = prune.GetProperty("versions");
        Assert.Equal(unlocked.Count, versions.GetProperty("versions_deleted").GetInt32());
        Assert.Equal(unlocked.Count, versions.GetProperty("delete_markers_removed").GetInt32());
        Assert.Equal(locked.Count, versions.GetProperty("packs_locked").GetInt32());
        var lockedUntil = DateTimeOffset.Parse(versions.GetProperty("locked_until").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(lockedUntil, DateTimeOffset.UtcNow.AddDays(30).AddHours(-1), DateTimeOffset.UtcNow.AddDays(30));
        // The end of prune extends the live objects' retention (default margin 7 days: all are below 30d + 7d).
        Assert.True(prune.GetProperty("retention").GetProperty("extended").GetInt32() >= kept.Count, prune.ToString());

        var left = await AllVersionsAsync();
        foreach (var key in unlocked) Assert.False(left.ContainsKey(key), $"{key}: versions left behind although it had no retention");
        foreach (var key in locked)
        {
            Assert.True(left.TryGetValue(key, out var vs) && vs[0].IsDeleteMarker == true && vs.Any(v => v.IsDeleteMarker != true),
                $"{key}: a locked pack should stay as a locked version behind a delete marker");
        }
        foreach (var key in kept) Assert.True(left.TryGetValue(key, out var vs) && vs[0].IsDeleteMarker != true, $"{key} is needed and must stay live");
        var textPrune = Ok(S3Env.Admin, Url, ["prune", "--grace", "0", "--keep-deleted", "0"]).Stdout;
        Assert.Contains($"versions of {locked.Count} deleted packs", textPrune);
        Assert.Contains("locked until", textPrune);

        // The retention runs out (test setup, as the admin, with the governance bypass Dedup itself never uses): the
        // locked versions now expire in two seconds. Wait for the server's own clock to pass that, then prune again.
        var expiry = DateTime.UtcNow.AddSeconds(2);
        using (var admin = S3Env.Sdk(S3Env.Admin))
        {
            foreach (var key in locked)
                foreach (var v in left[key].Where(v => v.IsDeleteMarker != true))
                    await admin.PutObjectRetentionAsync(new PutObjectRetentionRequest
                    {
                        BucketName = _bucket, Key = key, VersionId = v.VersionId, BypassGovernanceRetention = true,
                        Retention = new ObjectLockRetention { Mode = ObjectLockRetentionMode.Governance, RetainUntilDate = expiry },
                    });
        }
        await WaitForServerTimeAsync(expiry.AddSeconds(1));
        var later = JsonOutput.Result(Ok(S3Env.Admin, Url, ["prune", "--grace", "0", "--keep-deleted", "0", "--json"]).Stdout).GetProperty("versions");
        Assert.Equal(locked.Count, later.GetProperty("versions_deleted").GetInt32());
        Assert.Equal(locked.Count, later.GetProperty("delete_markers_removed").GetInt32());
        Assert.Equal(0, later.GetProperty("packs_locked").GetInt32());
        var final = await AllVersionsAsync();
        foreach (var key in locked) Assert.False(final.ContainsKey(key), $"{key}: versions left after their retention ended");

        var target = Cli.Dir.Combine("restored");
        Ok(S3Env.Admin, Url, ["restore", "latest", "--target", target]);
        Assert.Equal(RandomBytes(3 << 20, 3), File.ReadAllBytes(Path.Join(target, Path.GetFullPath(file))));
        Ok(S3Env.Admin, Url, ["check", "--read-data"]);
        // README: dedup prune (after the first prune's extension every live object is above 30d + 7d: nothing to extend).
        var plain = Ok(S3Env.Admin, Url, ["prune"]).Stdout;
        Assert.Contains("versions: 0 old pack versions removed", plain);
        Assert.Contains("retention: 0 of ", plain);
    }

    /// <summary>
    /// COMPLIANCE, per object on the shared locked bucket, for seconds: even the admin cannot delete or shorten a lock,
    /// with or without the governance bypass.
    /// </summary>
    [Fact]
    public async Task Compliance_retention_holds_against_the_admin_and_extend_touches_nothing_twice()
    {
        var (url, prefix, src) = BackedUpInSharedLockedBucket("compliance", seed: 152);
        // The shared bucket has no default retention: extend takes mode and period from the command line.
        var first = JsonOutput.Result(Ok(S3Env.Admin, url, ["retention", "extend", "--retention-mode", "compliance", "--retention-period", "20s", "--margin", "5s", "--json"]).Stdout);
        var objects = await CurrentRetentionAsync(S3Env.LockedBucket, prefix);
        Assert.Equal(objects.Count, first.GetProperty("extended").GetInt32());
        Assert.All(objects.Values, o => Assert.Equal(ObjectLockMode.Compliance, o.Mode));
        var second = JsonOutput.Result(Ok(S3Env.Admin, url, ["retention", "extend", "--retention-mode", "compliance", "--retention-period", "20s", "--margin", "5s", "--json"]).Stdout);
        Assert.Equal(0, second.GetProperty("extended").GetInt32());

        var pack = objects.Keys.First(k => k.Contains("/data/", StringComparison.Ordinal));
        var version = objects[pack].VersionId;
        using (var admin = S3Env.Sdk(S3Env.Admin))
        {
            await AssertDeniedAsync(() => admin.DeleteObjectAsync(new DeleteObjectRequest { BucketName = S3Env.LockedBucket, Key = pack, VersionId = version, BypassGovernanceRetention = true }));
            await AssertDeniedAsync(() => admin.DeleteObjectAsync(new DeleteObjectRequest { BucketName = S3Env.LockedBucket, Key = pack, VersionId = version }));
            await AssertRefusedAsync(() => admin.PutObjectRetentionAsync(new PutObjectRetentionRequest
            {
                BucketName = S3Env.LockedBucket, Key = pack, VersionId = version, BypassGovernanceRetention = true,
                Retention = new ObjectLockRetention { Mode = ObjectLockRetentionMode.Governance, RetainUntilDate = DateTime.UtcNow.AddDays(1) },
            }));
        }
        using (var client = S3Env.Sdk(S3Env.Client))
            await AssertDeniedAsync(() => client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = S3Env.LockedBucket, Key = pack, VersionId = version }));
        Assert.Equal(objects, await CurrentRetentionAsync(S3Env.LockedBucket, prefix));
        var target = Cli.Dir.Combine("restored");
        Ok(S3Env.Admin, url, ["restore", "latest", "--target", target]);
        TreeFixture.AssertSame(src, Path.Join(target, Path.GetFullPath(src)));
    }

    /// <summary>
    /// Spec threat 36: a host overwrites a live pack (a versioned RGW bucket ignores If-None-Match), so that the genuine
    /// bytes become a noncurrent version, unlocked here (the shared bucket has no default retention). If it hit a tree
    /// pack, prune cannot read the trees and deletes the data packs as unused (what an unreadable tree does not reach is
    /// not kept). Prune's sweep must remove none of those versions: not the genuine pack under the garbage (its name is
    /// live), and not the packs it just deleted (deleted less than the keep-deleted window ago, 30 days by default).
    /// </summary>
    [Fact]
    public async Task Prune_removes_no_version_a_client_overwrite_or_a_misjudged_delete_leaves_behind()
    {
        var (url, prefix, _) = BackedUpInSharedLockedBucket("overwrite", seed: 153);
        var before = await ListVersionsAsync(S3Env.LockedBucket, prefix + "/data/");
        var pack = before.First().Key;
        using var client = S3Env.Sdk(S3Env.Client);
        using var admin = S3Env.Sdk(S3Env.Admin);
        var genuine = (await admin.GetObjectMetadataAsync(S3Env.LockedBucket, pack)).VersionId;
        // The attack, with the client credentials: garbage under the pack's name.
        await client.PutObjectAsync(new PutObjectRequest { BucketName = S3Env.LockedBucket, Key = pack, ContentBody = "garbage" });
        Assert.NotEqual(genuine, (await admin.GetObjectMetadataAsync(S3Env.LockedBucket, pack)).VersionId);

        var prune = JsonOutput.Result(Ok(S3Env.Admin, url, ["prune", "--grace", "0", "--json"]).Stdout);
        var versions = prune.GetProperty("versions");
        Assert.True(versions.GetProperty("versions_deleted").GetInt32() == 0, prune.ToString());
        Assert.Equal(prune.GetProperty("packs_deleted").GetInt32(), versions.GetProperty("packs_recent").GetInt32());
        // Every version stored before the attack is still there, and the genuine pack's bytes still hash to its name.
        var after = (await ListVersionsAsync(S3Env.LockedBucket, prefix + "/data/")).Select(v => v.VersionId).ToHashSet();
        Assert.All(before, v => Assert.Contains(v.VersionId, after));
        using var old = await admin.GetObjectAsync(new GetObjectRequest { BucketName = S3Env.LockedBucket, Key = pack, VersionId = genuine });
        using var bytes = new MemoryStream();
        await old.ResponseStream.CopyToAsync(bytes);
        Assert.Equal(pack[(pack.LastIndexOf('/') + 1)..], Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes.ToArray())));
    }

    [Fact]
    public async Task Retention_on_a_bucket_without_Object_Lock_or_a_local_folder_or_in_part_days_is_one_clear_line()
    {
        var (url, _) = NewRepo(S3Env.Bucket, "nolock");
        AssertOneLineError(Run(S3Env.Admin, url, ["retention", "set", "--retention-mode", "governance", "--retention-period", "30d"]),
            "has no Object Lock", "--object-lock-enabled-for-bucket");
        AssertOneLineError(Run(S3Env.Admin, url, ["init", "--retention-mode", "governance", "--retention-period", "30d", .. DedupCli.FastKdf]), "has no Object Lock");
        Assert.Empty(await S3Env.ListAsync(S3Env.Bucket, url[(url.LastIndexOf('/') + 1)..])); // refused before writing anything
        AssertOneLineError(Run(S3Env.Admin, url, ["retention", "set", "--retention-mode", "governance", "--retention-period", "36h"]), "whole days");
        var (locked, _) = NewRepo(S3Env.LockedBucket, "nodefault");
        AssertOneLineError(Run(S3Env.Admin, locked, ["retention", "extend"]), "no default retention", "retention set");
        AssertOneLineError(Cli.Run(["-r", Cli.Dir.Combine("local"), "retention", "show"]), "local folder");
    }

    /// <summary>A repository in the shared locked bucket (no default retention), with one backup by the client.</summary>
    private (string Url, string Prefix, string Src) BackedUpInSharedLockedBucket(string purpose, int seed)
    {
        var (url, prefix) = NewRepo(S3Env.LockedBucket, purpose);
        Init(S3Env.Admin, url);
        var src = Cli.Dir.Combine("src");
        TreeFixture.Build(src, seed);
        Ok(S3Env.Client, url, ["backup", src]);
        return (url, prefix, src);
    }

    private async Task CreateLockedBucketWithClientPolicyAsync()
    {
        using var s3 = S3Env.Sdk(S3Env.Admin);
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = _bucket, ObjectLockEnabledForBucket = true });
        _bucketCreated = true;
        // Exactly what the tool prints for the backup host, plus the admin's full access.
        var printed = Cli.Run(["policy", "--bucket", _bucket, "--prefix", Prefix, "--role", "client"], withPassword: false);
        Assert.True(printed.ExitCode == 0, printed.ToString());
        var policy = JsonNode.Parse(printed.Stdout)!.AsObject();
        Assert.Contains(policy["Statement"]!.AsArray(), s => (string?)s!["Sid"] == "NeverTouchRetention");
        await s3.PutBucketPolicyAsync(_bucket, Dedup.TestKit.S3Users.Grant(policy, _bucket, "client").ToJsonString());
    }

    private async Task<List<string>> PackKeysAsync() =>
        (await S3Env.ListAsync(_bucket, Prefix)).Keys.Where(k => k.Contains("/data/", StringComparison.Ordinal)).ToList();

    /// <summary>Every current object's lock, as HEAD reports it.</summary>
    private static async Task<SortedDictionary<string, (ObjectLockMode? Mode, DateTimeOffset Until, string VersionId)>> CurrentRetentionAsync(string bucket, string prefix)
    {
        using var s3 = S3Env.Sdk(S3Env.Admin);
        var result = new SortedDictionary<string, (ObjectLockMode?, DateTimeOffset, string)>(StringComparer.Ordinal);
        foreach (var key in (await S3Env.ListAsync(bucket, prefix)).Keys)
        {
            if (key.EndsWith("delete-permission-probe", StringComparison.Ordinal)) continue;
            var head = await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key });
            result[key] = (head.ObjectLockMode, head.ObjectLockRetainUntilDate is { } d ? new DateTimeOffset(d.ToUniversalTime()) : default, head.VersionId);
        }
        return result;
    }

    /// <summary>Every version and delete marker under the prefix, newest first per key.</summary>
    private async Task<Dictionary<string, List<S3ObjectVersion>>> AllVersionsAsync() =>
        (await ListVersionsAsync(_bucket, Prefix + "/")).GroupBy(v => v.Key).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

    private static async Task<List<S3ObjectVersion>> ListVersionsAsync(string bucket, string prefix)
    {
        using var s3 = S3Env.Sdk(S3Env.Admin);
        var result = new List<S3ObjectVersion>();
        var request = new ListVersionsRequest { BucketName = bucket, Prefix = prefix };
        ListVersionsResponse page;
        do
        {
            page = await s3.ListVersionsAsync(request);
            result.AddRange(page.Versions ?? []);
            request.KeyMarker = page.NextKeyMarker;
            request.VersionIdMarker = page.NextVersionIdMarker;
        } while (page.IsTruncated == true);
        return result;
    }

    /// <summary>Polls the server's clock (its Date header) until it is past <paramref name="time"/>: a few seconds at most.</summary>
    private static async Task WaitForServerTimeAsync(DateTime time)
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await http.GetAsync(S3Env.Endpoint);
            if (response.Headers.Date is { } now && now.UtcDateTime > time) return;
            Assert.True(DateTime.UtcNow < deadline, $"the server's clock did not pass {time:O} within 30 s");
        }
    }

    private static async Task AssertDeniedAsync(Func<Task> request)
    {
        var e = await Assert.ThrowsAsync<AmazonS3Exception>(request);
        Assert.Equal(HttpStatusCode.Forbidden, e.StatusCode);
    }

    /// <summary>Refused by the server, whatever the code it picks (RGW answers 403 for some, 400 for others).</summary>
    private static async Task AssertRefusedAsync(Func<Task> request)
    {
        var e = await Assert.ThrowsAsync<AmazonS3Exception>(request);
        Assert.True((int)e.StatusCode is >= 400 and < 500, e.ToString());
    }

    public override void Dispose()
    {
        if (_bucketCreated) RemoveLockedBucket().GetAwaiter().GetResult();
        base.Dispose();
    }

    /// <summary>Deletes every version with the governance bypass (the admin holds it), then the bucket.</summary>
    private async Task RemoveLockedBucket()
    {
        try
        {
            using var s3 = S3Env.Sdk(S3Env.Admin);
            foreach (var v in await ListVersionsAsync(_bucket, ""))
                await s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = v.Key, VersionId = v.VersionId, BypassGovernanceRetention = true });
            await s3.DeleteBucketAsync(_bucket);
        }
        catch (AmazonS3Exception)
        {
        }
    }
}
