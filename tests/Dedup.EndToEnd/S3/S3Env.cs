using System.Diagnostics;
using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Dedup.Storage.S3;
using Dedup.TestKit;
using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>Whose S3 credentials a dedup process gets, through AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.</summary>
public sealed record S3Credentials(string Key, string Secret)
{
    public Dictionary<string, string?> Env(Dictionary<string, string?>? more = null)
    {
        var env = new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = Key, ["AWS_SECRET_ACCESS_KEY"] = Secret, ["AWS_REGION"] = "us-east-1" };
        if (more is not null) foreach (var (k, v) in more) env[k] = v;
        return env;
    }
}

/// <summary>
/// The local Ceph RGW of scripts/s3-server.sh, as the end-to-end tests see it. Missing settings FAIL the test with
/// what to do: an S3 suite that skips or passes without its server would hide a broken S3 path.
/// </summary>
public static class S3Env
{
    public static string Endpoint => Get("DEDUP_TEST_S3_ENDPOINT");
    public static string Bucket => Get("DEDUP_TEST_S3_BUCKET");
    public static string VersionedBucket => Get("DEDUP_TEST_S3_VERSIONED_BUCKET");
    /// <summary>Object Lock enabled (so versioned), with no default retention: tests set retention per object or their own default.</summary>
    public static string LockedBucket => Get("DEDUP_TEST_S3_LOCKED_BUCKET");
    public static S3Credentials Admin => new(Get("DEDUP_TEST_S3_ADMIN_KEY"), Get("DEDUP_TEST_S3_ADMIN_SECRET"));
    public static S3Credentials Client => new(Get("DEDUP_TEST_S3_CLIENT_KEY"), Get("DEDUP_TEST_S3_CLIENT_SECRET"));

    /// <summary>A user the write-only test creates with radosgw-admin; it has rights only through a bucket policy.</summary>
    public static readonly S3Credentials WriteOnly = new("DEDUPTESTWRITEONLY00", "dedup-test-writeonly-secret-not-a-real-secret");
    public const string WriteOnlyUser = "writeonly";

    /// <summary>The repository URL of a fresh prefix in the bucket.</summary>
    public static (string Url, string Prefix) Fresh(string bucket, string purpose)
    {
        var prefix = $"e2e-{purpose}-{Guid.NewGuid():N}"[..(purpose.Length + 17)];
        return ($"s3:{Endpoint}/{bucket}/{prefix}", prefix);
    }

    public static AmazonS3Client Sdk(S3Credentials who)
    {
        var config = S3Storage.CreateConfig(Dedup.Storage.S3.S3Location.Parse($"s3:{Endpoint}/{Bucket}"), new S3StorageOptions { Timeout = TimeSpan.FromSeconds(30) });
        config.MaxErrorRetry = 2;
        return new AmazonS3Client(new BasicAWSCredentials(who.Key, who.Secret), config);
    }

    /// <summary>Every object under the prefix, with its size and ETag (a changed ETag means changed content).</summary>
    public static async Task<SortedDictionary<string, (long Size, string ETag)>> ListAsync(string bucket, string prefix, S3Credentials? who = null)
    {
        using var s3 = Sdk(who ?? Admin);
        var result = new SortedDictionary<string, (long, string)>(StringComparer.Ordinal);
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix + "/" };
        ListObjectsV2Response page;
        do
        {
            page = await s3.ListObjectsV2Async(request);
            foreach (var o in page.S3Objects ?? []) result[o.Key] = (o.Size ?? 0, o.ETag);
            request.ContinuationToken = page.NextContinuationToken;
        } while (page.IsTruncated == true);
        return result;
    }

    public static long Bytes(SortedDictionary<string, (long Size, string ETag)> objects) => objects.Values.Sum(o => o.Size);

    /// <summary>Removes what a test stored, as admin; failures are ignored (the server may be down in a fault test).</summary>
    public static async Task CleanUpAsync(string bucket, string prefix)
    {
        try
        {
            using var s3 = Sdk(Admin);
            foreach (var key in (await ListAsync(bucket, prefix)).Keys) await s3.DeleteObjectAsync(bucket, key);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or WebException or IOException)
        {
        }
    }

    /// <summary>Empties a test's own bucket under its prefix and deletes the bucket, ignoring what is already gone.</summary>
    public static void RemoveBucket(string bucket, string prefix)
    {
        try
        {
            CleanUpAsync(bucket, prefix).GetAwaiter().GetResult();
            using var s3 = Sdk(Admin);
            s3.DeleteBucketAsync(bucket).GetAwaiter().GetResult();
        }
        catch (AmazonS3Exception)
        {
        }
    }

    /// <summary>Runs scripts/s3-server.sh (start or stop) and asserts it worked.</summary>
    public static void Server(string command)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(RepositoryRoot, "scripts", "s3-server.sh"));
        psi.ArgumentList.Add(command);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(3)), $"s3-server.sh {command} hung");
        Assert.True(p.ExitCode == 0, $"s3-server.sh {command} failed: {err.Result}");
    }

    /// <summary>Runs radosgw-admin against the test cluster; returns its exit code.</summary>
    public static int RadosgwAdmin(params string[] args) => S3Users.RadosgwAdmin(args);

    /// <summary>Creates the write-only test user if it does not exist yet (idempotent, like the server script).</summary>
    public static void EnsureWriteOnlyUser()
    {
        _ = Endpoint;
        S3Users.Ensure(WriteOnlyUser, "dedup test write-only host", WriteOnly.Key, WriteOnly.Secret);
    }

    /// <summary>A user for put-only hosts (issue 13); like <see cref="WriteOnly"/>, it has rights only through a bucket policy.</summary>
    public static readonly S3Credentials PutOnly = new(S3Users.PutOnlyKey, S3Users.PutOnlySecret);
    public const string PutOnlyUser = S3Users.PutOnlyUser;

    public static void EnsurePutOnlyUser()
    {
        _ = Endpoint;
        S3Users.EnsurePutOnly();
    }

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Dedup.sln"))) return dir.FullName;
            throw new InvalidOperationException("cannot find the repository root (Dedup.sln) above " + AppContext.BaseDirectory);
        }
    }

    private static string Get(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(value))
            Assert.Fail($"{name} is not set. The S3 end-to-end tests need the local test server: run `scripts/s3-server.sh start`, then "
                        + "`source .state/s3/env` (or `eval \"$(scripts/s3-server.sh env)\"`) before `dotnet test`; scripts/test.sh does both.");
        return value!;
    }
}
