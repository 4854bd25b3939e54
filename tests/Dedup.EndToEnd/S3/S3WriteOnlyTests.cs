using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.S3;
using Amazon.S3.Model;
using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>
/// Issue 7 on the real server: hosts with a write-only key and S3 credentials limited to exactly what
/// 'dedup policy --role write-only' grants back up and deduplicate, but cannot read anything back.
/// </summary>
[Collection("S3")]
public sealed class S3WriteOnlyTests : S3TestBase
{
    private readonly string _bucket = $"dedup-e2e-wo-{Guid.NewGuid():N}"[..30];
    private const string Prefix = "fleet";
    private const string ContentCanary = "CANARY-CONTENT-7f3a9c: the quick brown fox pays the invoice";
    private const string NameCanary = "canary-name-4b1e.txt";

    [Fact]
    public async Task WriteOnlyHosts_BackUpAndDeduplicate_CannotReadBack_AndAdminRestores()
    {
        S3Env.EnsureWriteOnlyUser();
        await CreateBucketWithWriteOnlyPolicyAsync();
        var url = $"s3:{S3Env.Endpoint}/{_bucket}/{Prefix}";
        var admin = S3Env.Admin;
        var wo = S3Env.WriteOnly;

        Init(admin, url);
        var web1Pass = Cli.Dir.Combine("web1.pass");
        var web2Pass = Cli.Dir.Combine("web2.pass");
        var web3Pass = Cli.Dir.Combine("web3.pass");
        File.WriteAllText(web1Pass, "web1 password");
        File.WriteAllText(web2Pass, "web2 password");
        File.WriteAllText(web3Pass, "web3 password");
        // web1 and web2 share a dedup group; web3 gets the default, a domain of its own.
        string AddKey(string host, string pass, params string[] more) =>
            JsonDocument.Parse(Ok(admin, url, ["key", "add", "--write-only", "--host", host, "--new-password-file", pass, "--json", .. more, .. DedupCli.FastKdf]).Stdout)
                .RootElement.GetProperty("id").GetString()!;
        var web1Key = AddKey("web1", web1Pass, "--group", "web");
        var web2Key = AddKey("web2", web2Pass, "--group", "web");
        var web3Key = AddKey("web3", web3Pass);
        await SetWriteOnlyPolicyAsync([web1Key, web2Key, web3Key]);

        var src = Cli.Dir.Combine("src");
        long size = TreeFixture.Build(src, seed: 71);
        File.WriteAllText(Path.Combine(src, NameCanary), string.Concat(Enumerable.Repeat(ContentCanary + "\n", 2000)));
        size += new FileInfo(Path.Combine(src, NameCanary)).Length;
        Dictionary<string, string?> Host(string name, string pass, string? key = null) =>
            new() { ["DEDUP_PASSWORD_FILE"] = pass, ["DEDUP_CACHE_DIR"] = Cli.Dir.Combine("cache-" + name), ["DEDUP_KEY"] = key };

        // The credentials may read no key file but the host's own: the others are skipped, unread.
        Assert.Equal(0, Run(wo, url, ["snapshots"], Host("web1", web1Pass)).ExitCode);
        var first = JsonOutput.Result(Ok(wo, url, ["backup", src, "--host", "web1", "--json"], Host("web1", web1Pass, web1Key)).Stdout);
        var id = first.GetProperty("snapshot_id").GetString()!;

        foreach (var args in new[] { new[] { "restore", id, "--target", Cli.Dir.Combine("nope") }, ["dump", id, Path.GetFullPath(src) + "/" + NameCanary], ["ls", id], ["cat", "snapshot", id] })
            AssertOneLineError(Run(wo, url, args, Host("web1", web1Pass)), "write-only");

        // A second host of the same group with the same data: only its snapshot and bookkeeping are new.
        var second = JsonOutput.Result(Ok(wo, url, ["backup", src, "--host", "web2", "--json"], Host("web2", web2Pass, web2Key)).Stdout);
        Assert.True(second.GetProperty("bytes_added_stored").GetInt64() < size / 100, second.ToString());
        // A host in a domain of its own deduplicates against nothing of theirs: it cannot even tell the data is there.
        var third = JsonOutput.Result(Ok(wo, url, ["backup", src, "--host", "web3", "--json"], Host("web3", web3Pass, web3Key)).Stdout);
        Assert.True(third.GetProperty("bytes_added").GetInt64() >= size, third.ToString());

        var target = Cli.Dir.Combine("restored");
        Ok(admin, url, ["restore", id, "--target", target]);
        TreeFixture.AssertSame(src, Path.Join(target, Path.GetFullPath(src)));
        Ok(admin, url, ["check", "--read-data"]);

        await AssertNoPlaintextReadableAsync(wo, src);
    }

    /// <summary>Reads every object the write-only credentials can read, and looks for file contents and names.</summary>
    private async Task AssertNoPlaintextReadableAsync(S3Credentials who, string src)
    {
        var canaries = new[] { ContentCanary, NameCanary, "naïve café", "script.sh", Path.GetFileName(src) }.Select(Encoding.UTF8.GetBytes).ToList();
        using var s3 = S3Env.Sdk(who);
        var keys = (await S3Env.ListAsync(_bucket, Prefix, who)).Keys.ToList();
        int read = 0, readKeys = 0;
        foreach (var key in keys)
        {
            byte[] bytes;
            try
            {
                using var response = await s3.GetObjectAsync(_bucket, key);
                using var ms = new MemoryStream();
                await response.ResponseStream.CopyToAsync(ms);
                bytes = ms.ToArray();
            }
            catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.Forbidden)
            {
                Assert.True(key.Contains("/data/", StringComparison.Ordinal) || key.Contains("/snapshots/", StringComparison.Ordinal)
                            || key.Contains("/inflight/", StringComparison.Ordinal) || key.Contains("/keys/", StringComparison.Ordinal),
                    $"the write-only credentials cannot read {key}, which backups need");
                continue;
            }
            Assert.False(key.Contains("/data/", StringComparison.Ordinal) || key.Contains("/snapshots/", StringComparison.Ordinal)
                         || key.Contains("/inflight/", StringComparison.Ordinal), $"the write-only credentials can read {key}");
            // Key files: only the hosts' own (the admin's full key file must stay out of reach of offline guessing).
            if (key.Contains("/keys/", StringComparison.Ordinal)) readKeys++;
            read++;
            foreach (var canary in canaries)
                Assert.True(bytes.AsSpan().IndexOf(canary) < 0, $"{key} holds the plaintext '{Encoding.UTF8.GetString(canary)}'");
        }
        Assert.True(read >= 3, $"expected to read config, keys and index files; read {read} of {keys.Count}");
        Assert.Equal(3, readKeys); // web1, web2 and web3's own key files; not the admin's
    }

    private async Task CreateBucketWithWriteOnlyPolicyAsync()
    {
        using var s3 = S3Env.Sdk(S3Env.Admin);
        await s3.PutBucketAsync(_bucket);
        await SetWriteOnlyPolicyAsync([]);
    }

    private async Task SetWriteOnlyPolicyAsync(string[] hostKeys)
    {
        using var s3 = S3Env.Sdk(S3Env.Admin);
        // Exactly the statements the tool prints, for the write-only user, plus the admin's full access.
        var printed = Cli.Run(["policy", "--bucket", _bucket, "--prefix", Prefix, "--role", "write-only", "--principal", "arn:aws:iam:::user/" + S3Env.WriteOnlyUser,
            .. hostKeys.SelectMany(k => new[] { "--key-id", k })], withPassword: false);
        Assert.True(printed.ExitCode == 0, printed.ToString());
        var policy = JsonNode.Parse(printed.Stdout)!.AsObject();
        policy["Statement"]!.AsArray().Add(new JsonObject
        {
            ["Sid"] = "Admin", ["Effect"] = "Allow", ["Principal"] = new JsonObject { ["AWS"] = new JsonArray("arn:aws:iam:::user/admin") },
            ["Action"] = new JsonArray("s3:*"), ["Resource"] = new JsonArray($"arn:aws:s3:::{_bucket}", $"arn:aws:s3:::{_bucket}/*"),
        });
        await s3.PutBucketPolicyAsync(_bucket, policy.ToJsonString());
    }

    public override void Dispose()
    {
        S3Env.RemoveBucket(_bucket, Prefix);
        base.Dispose();
    }
}
