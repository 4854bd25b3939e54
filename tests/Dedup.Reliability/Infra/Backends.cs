using System.Diagnostics;
using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Dedup.Storage.S3;
using Dedup.TestKit;
using Xunit;

namespace Dedup.Reliability.Infra;

/// <summary>Where a repository under test lives, and how a test looks at its objects without dedup's help.</summary>
public abstract class Backend : IAsyncDisposable
{
    public abstract string Name { get; }

    /// <summary>The URL a backup host uses.</summary>
    public abstract string Url { get; }

    /// <summary>The environment of a backup host (S3: the client credential, which cannot delete).</summary>
    public abstract IReadOnlyDictionary<string, string?> ClientEnv { get; }

    /// <summary>The environment of the admin host (S3: the admin credential, for forget and prune).</summary>
    public abstract IReadOnlyDictionary<string, string?> AdminEnv { get; }

    /// <summary>Names (without folders) of the complete objects of one kind: "data", "index", "snapshots", "marks", "inflight".</summary>
    public abstract Task<HashSet<string>> ListAsync(string kind);

    public abstract ValueTask DisposeAsync();

    public static Backend Create(string name, TempDir dir, string purpose) => name switch
    {
        "local" => new LocalBackend(dir.Combine("repo")),
        "s3" => new S3Backend(purpose),
        _ => throw new ArgumentException(name),
    };
}

public sealed class LocalBackend(string folder) : Backend
{
    public override string Name => "local";
    public override string Url => folder;
    public override IReadOnlyDictionary<string, string?> ClientEnv { get; } = new Dictionary<string, string?>();
    public override IReadOnlyDictionary<string, string?> AdminEnv { get; } = new Dictionary<string, string?>();

    public override Task<HashSet<string>> ListAsync(string kind)
    {
        var dir = Path.Combine(folder, kind);
        var names = Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Select(Path.GetFileName).OfType<string>()
                .Where(n => !n.Contains(".tmp-", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>(StringComparer.Ordinal);
        return Task.FromResult(names);
    }

    /// <summary>Temporary files a killed process left (they are never objects).</summary>
    public int TempFiles() => Directory.EnumerateFiles(folder, "*.tmp-*", SearchOption.AllDirectories).Count();

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask; // the test's TempDir removes it
}

/// <summary>
/// The local Ceph RGW that scripts/s3-server.sh runs. Missing settings FAIL the test (never skip): an S3 reliability
/// suite that passes without its server would hide a broken S3 path.
/// </summary>
public static class S3Env
{
    public static string Endpoint => Get("DEDUP_TEST_S3_ENDPOINT");
    public static string Bucket => Get("DEDUP_TEST_S3_BUCKET");
    public static (string Key, string Secret) Admin => (Get("DEDUP_TEST_S3_ADMIN_KEY"), Get("DEDUP_TEST_S3_ADMIN_SECRET"));
    public static (string Key, string Secret) Client => (Get("DEDUP_TEST_S3_CLIENT_KEY"), Get("DEDUP_TEST_S3_CLIENT_SECRET"));

    public static Dictionary<string, string?> Env((string Key, string Secret) who) => new()
    {
        ["AWS_ACCESS_KEY_ID"] = who.Key, ["AWS_SECRET_ACCESS_KEY"] = who.Secret, ["AWS_REGION"] = "us-east-1",
    };

    public static AmazonS3Client Sdk()
    {
        var config = S3Storage.CreateConfig(Dedup.Storage.S3.S3Location.Parse($"s3:{Endpoint}/{Bucket}"), new S3StorageOptions { Timeout = TimeSpan.FromSeconds(20) });
        config.MaxErrorRetry = 2;
        return new AmazonS3Client(new BasicAWSCredentials(Admin.Key, Admin.Secret), config);
    }

    /// <summary>Runs scripts/s3-server.sh COMMAND (start or stop) and asserts it worked.</summary>
    public static void Server(string command)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(RepoRoot.Combine("scripts", "s3-server.sh"));
        psi.ArgumentList.Add(command);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(3)), $"s3-server.sh {command} hung");
        Assert.True(p.ExitCode == 0, $"s3-server.sh {command} failed: {err.Result}");
    }

    private static string Get(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(value))
            Assert.Fail($"{name} is not set. The S3 reliability tests need the local test server: run `scripts/s3-server.sh start`, then "
                        + "`eval \"$(scripts/s3-server.sh env)\"` before `dotnet test`; scripts/test.sh does both.");
        return value!;
    }
}

public sealed class S3Backend : Backend
{
    private readonly AmazonS3Client _s3;

    private readonly bool _ownBucket;

    /// <param name="bucket">A bucket of the test's own (removed at the end), e.g. one whose policy grants a put-only
    /// user; default: the shared test bucket.</param>
    /// <param name="client">The backup host's credential; default: the shared client user, which cannot delete.</param>
    public S3Backend(string purpose, string? bucket = null, (string Key, string Secret)? client = null)
    {
        Prefix = $"rel-{purpose}-{Guid.NewGuid():N}"[..(purpose.Length + 16)];
        Bucket = bucket ?? S3Env.Bucket;
        _ownBucket = bucket is not null;
        Url = $"s3:{S3Env.Endpoint}/{Bucket}/{Prefix}";
        ClientEnv = S3Env.Env(client ?? S3Env.Client);
        AdminEnv = S3Env.Env(S3Env.Admin);
        _s3 = S3Env.Sdk();
    }

    public string Bucket { get; }

    /// <summary>Every object of one kind with its size, as the admin lists it (what a run stored: the difference of two listings).</summary>
    public async Task<Dictionary<string, long>> SizesAsync(string kind)
    {
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = $"{Prefix}/{kind}/" };
        ListObjectsV2Response page;
        do
        {
            page = await _s3.ListObjectsV2Async(request).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? []) sizes[o.Key[(o.Key.LastIndexOf('/') + 1)..]] = o.Size ?? 0;
            request.ContinuationToken = page.NextContinuationToken;
        } while (page.IsTruncated == true);
        return sizes;
    }

    public string Prefix { get; }
    public override string Name => "s3";
    public override string Url { get; }
    public override IReadOnlyDictionary<string, string?> ClientEnv { get; }
    public override IReadOnlyDictionary<string, string?> AdminEnv { get; }

    /// <summary>The same repository seen through another endpoint (the fault proxy).</summary>
    public string UrlVia(int port) => $"s3:http://127.0.0.1:{port}/{Bucket}/{Prefix}";

    public override async Task<HashSet<string>> ListAsync(string kind)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in await KeysAsync($"{Prefix}/{kind}/").ConfigureAwait(false)) names.Add(key[(key.LastIndexOf('/') + 1)..]);
        return names;
    }

    private async Task<List<string>> KeysAsync(string prefix)
    {
        var keys = new List<string>();
        var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix };
        ListObjectsV2Response page;
        do
        {
            page = await _s3.ListObjectsV2Async(request).ConfigureAwait(false);
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            request.ContinuationToken = page.NextContinuationToken;
        } while (page.IsTruncated == true);
        return keys;
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            var keys = await KeysAsync(Prefix + "/").ConfigureAwait(false);
            for (int i = 0; i < keys.Count; i += 500)
            {
                await _s3.DeleteObjectsAsync(new DeleteObjectsRequest
                {
                    BucketName = Bucket,
                    Objects = keys.Skip(i).Take(500).Select(k => new KeyVersion { Key = k }).ToList(),
                }).ConfigureAwait(false);
            }
            if (_ownBucket) await _s3.DeleteBucketAsync(Bucket).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or WebException or IOException or OperationCanceledException)
        {
            // Clean-up is best effort (the server may be down after a failed fault test).
        }
        _s3.Dispose();
    }
}
