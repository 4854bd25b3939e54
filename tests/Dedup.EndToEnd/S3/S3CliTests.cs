using System.Diagnostics;
using System.Text.Json;
using Amazon.S3.Model;
using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>Issue 3 through the CLI: client credentials back up and restore, only admin credentials delete.</summary>
[Collection("S3")]
public sealed class S3CliTests : S3TestBase
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClientBacksUpAndRestores_CannotForgetOrPrune_AdminCanAndReclaimsSpace(bool versioned)
    {
        var bucket = versioned ? S3Env.VersionedBucket : S3Env.Bucket;
        var (url, prefix) = NewRepo(bucket, versioned ? "versioned" : "plain");
        var client = S3Env.Client;
        var src = Cli.Dir.Combine("src");
        TreeFixture.Build(src, seed: 31);
        var doomed = Path.Combine(src, "doomed.bin");
        File.WriteAllBytes(doomed, RandomBytes(4 << 20, 32));

        var init = Init(client, url);
        Assert.Contains(versioned ? "versioning: enabled" : "versioning: off", init.Stdout + init.Stderr, StringComparison.OrdinalIgnoreCase);
        Ok(client, url, ["backup", src, "--host", "h1"]);
        File.Delete(doomed);
        var second = JsonOutput.Result(Ok(client, url, ["backup", src, "--host", "h1", "--json"]).Stdout);
        Assert.Equal(2, JsonDocument.Parse(Ok(client, url, ["snapshots", "--json"]).Stdout).RootElement.GetArrayLength());
        var target = Cli.Dir.Combine("restored");
        Ok(client, url, ["restore", second.GetProperty("snapshot_id").GetString()!, "--target", target]);
        TreeFixture.AssertSame(src, Path.Join(target, Path.GetFullPath(src)));
        Ok(client, url, ["check", "--read-data"]);

        var before = await S3Env.ListAsync(bucket, prefix);
        foreach (var args in new[] { new[] { "prune" }, ["forget", "--keep-last", "1"], ["forget", "--keep-last", "1", "--prune", "--grace", "0"], ["repair", "index"] })
            AssertOneLineError(Run(client, url, args), "cannot delete", "admin host");
        Assert.Equal(before, await S3Env.ListAsync(bucket, prefix));

        var forget = JsonDocument.Parse(Ok(S3Env.Admin, url, ["forget", "--keep-last", "1", "--prune", "--grace", "0", "--json"]).Stdout).RootElement;
        Assert.Equal(1, forget.GetProperty("removed").GetInt32());
        Assert.True(forget.GetProperty("prune").GetProperty("bytes_freed").GetInt64() > 1 << 20, forget.ToString());
        var after = await S3Env.ListAsync(bucket, prefix);
        Assert.True(S3Env.Bytes(after) < S3Env.Bytes(before) - (1 << 20), $"{S3Env.Bytes(before)} bytes before, {S3Env.Bytes(after)} after");
        Assert.Equal(1, JsonDocument.Parse(Ok(client, url, ["snapshots", "--json"]).Stdout).RootElement.GetArrayLength());
        Ok(client, url, ["check", "--read-data"]);
        var again = Cli.Dir.Combine("again");
        Ok(client, url, ["restore", "latest", "--target", again]);
        TreeFixture.AssertSame(src, Path.Join(again, Path.GetFullPath(src)));
    }

    [Fact]
    public async Task OverwrittenPack_OnVersionedBucket_IsNamedByCheckReadData()
    {
        var bucket = S3Env.VersionedBucket;
        var (url, prefix) = NewRepo(bucket, "overwrite");
        var src = Cli.Dir.CreateDirectory("src");
        File.WriteAllBytes(Path.Combine(src, "data.bin"), RandomBytes(2 << 20, 41));
        Init(S3Env.Client, url);
        Ok(S3Env.Client, url, ["backup", src]);
        var pack = (await S3Env.ListAsync(bucket, prefix)).Where(o => o.Key.Contains("/data/", StringComparison.Ordinal)).MaxBy(o => o.Value.Size);
        using (var admin = S3Env.Sdk(S3Env.Admin))
        {
            // Same length, different bytes, no If-None-Match: what a credential that can overwrite would do.
            using var body = new MemoryStream(RandomBytes((int)pack.Value.Size, 42));
            await admin.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = pack.Key, InputStream = body });
        }
        var r = Run(S3Env.Client, url, ["check", "--read-data"]);
        Assert.True(r.ExitCode == 12, r.ToString());
        Assert.Contains(pack.Key[(pack.Key.LastIndexOf('/') + 1)..], r.Stdout + r.Stderr);
    }

    [Fact]
    public async Task WrongSecret_IsAClearError_AndNothingIsWritten()
    {
        var (url, prefix) = NewRepo(S3Env.Bucket, "badsecret");
        var wrong = S3Env.Client with { Secret = "not-the-secret" };
        AssertOneLineError(Run(wrong, url, ["init", .. DedupCli.FastKdf]));
        Assert.Empty(await S3Env.ListAsync(S3Env.Bucket, prefix));
        var src = Cli.Dir.CreateDirectory("src");
        File.WriteAllText(Path.Combine(src, "f"), "x");
        Init(S3Env.Client, url);
        var before = await S3Env.ListAsync(S3Env.Bucket, prefix);
        AssertOneLineError(Run(wrong, url, ["backup", src]));
        Assert.Equal(before, await S3Env.ListAsync(S3Env.Bucket, prefix));
    }

    [Fact]
    public void MissingBucket_IsAClearError()
    {
        var url = $"s3:{S3Env.Endpoint}/no-such-bucket-{Guid.NewGuid():N}"[..^20] + "/repo";
        AssertOneLineError(Run(S3Env.Client, url, ["init", .. DedupCli.FastKdf]), "bucket");
        AssertOneLineError(Run(S3Env.Client, url, ["snapshots"]));
    }

    [Fact]
    public void EndpointDown_IsAClearErrorAfterRetries()
    {
        // Port 9 (discard) has no listener here: every connection is refused at once. Three attempts keep it quick.
        var url = "s3:http://127.0.0.1:9/bucket/repo";
        var clock = Stopwatch.StartNew();
        var r = Run(S3Env.Client, url, ["init", .. DedupCli.FastKdf], new() { ["DEDUP_S3_RETRIES"] = "3" });
        AssertOneLineError(r, "127.0.0.1");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }
}
