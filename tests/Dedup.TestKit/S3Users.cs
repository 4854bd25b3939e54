using System.Diagnostics;
using System.Text.Json.Nodes;
using Amazon.S3;
using Xunit;

namespace Dedup.TestKit;

/// <summary>
/// Users of the local Ceph RGW that hold rights only through a bucket policy (a write-only host, a put-only host),
/// created with radosgw-admin, and the policy that grants them: shared by the end-to-end and reliability suites.
/// </summary>
public static class S3Users
{
    /// <summary>The put-only host's user (issue 13): it can do nothing until a bucket policy grants it something.</summary>
    public const string PutOnlyUser = "putonly";
    public const string PutOnlyKey = "DEDUPTESTPUTONLY0000";
    public const string PutOnlySecret = "dedup-test-putonly-secret-not-a-real-secret";

    /// <summary>Runs radosgw-admin against the test cluster (DEDUP_S3_STATE's ceph.conf); returns its exit code.</summary>
    public static int RadosgwAdmin(params string[] args)
    {
        var psi = new ProcessStartInfo("radosgw-admin") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["CEPH_CONF"] = Path.Combine(Environment.GetEnvironmentVariable("DEDUP_S3_STATE") ?? RepoRoot.Combine(".state", "s3"), "ceph.conf");
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEndAsync();
        p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(1)), "radosgw-admin hung");
        return p.ExitCode;
    }

    /// <summary>Creates the user if it does not exist yet (idempotent, like the server script; safe when suites race).</summary>
    public static void Ensure(string uid, string displayName, string key, string secret)
    {
        if (RadosgwAdmin("user", "info", "--uid=" + uid) == 0) return;
        var code = RadosgwAdmin("user", "create", "--uid=" + uid, "--display-name=" + displayName, "--access-key=" + key, "--secret-key=" + secret);
        Assert.True(code == 0 || RadosgwAdmin("user", "info", "--uid=" + uid) == 0, $"could not create the test user {uid}");
    }

    public static void EnsurePutOnly() => Ensure(PutOnlyUser, "dedup test put-only host", PutOnlyKey, PutOnlySecret);

    /// <summary>
    /// Creates <paramref name="bucket"/> with <paramref name="policy"/> (as 'dedup policy' printed it) granted to
    /// <paramref name="user"/>, plus everything to the admin user, who owns the bucket.
    /// </summary>
    public static async Task CreateBucketAsync(AmazonS3Client admin, string bucket, JsonObject policy, string user)
    {
        await admin.PutBucketAsync(bucket);
        await admin.PutBucketPolicyAsync(bucket, Grant(policy, bucket, user).ToJsonString());
    }

    /// <summary>The bucket policy that grants <paramref name="policy"/>'s statements to <paramref name="user"/> and everything to the admin.</summary>
    public static JsonObject Grant(JsonObject policy, string bucket, string user)
    {
        foreach (var statement in policy["Statement"]!.AsArray())
            statement!["Principal"] = new JsonObject { ["AWS"] = new JsonArray("arn:aws:iam:::user/" + user) };
        policy["Statement"]!.AsArray().Add(new JsonObject
        {
            ["Sid"] = "Admin", ["Effect"] = "Allow", ["Principal"] = new JsonObject { ["AWS"] = new JsonArray("arn:aws:iam:::user/admin") },
            ["Action"] = new JsonArray("s3:*"), ["Resource"] = new JsonArray($"arn:aws:s3:::{bucket}", $"arn:aws:s3:::{bucket}/*"),
        });
        return policy;
    }
}
