using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.S3;
using Amazon.S3.Model;
using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>
/// 'dedup doctor' (issue 12, "Credentials, checked") on the real server: a plain and a versioned bucket, each with the
/// client, write-only and admin roles granted exactly as 'dedup policy' prints them, and the table and JSON must say
/// what those credentials really can do, including what Ceph RGW lets through despite the create-only condition: a
/// second put on a versioned bucket, and on every bucket a multipart completion over an object and a copy onto itself.
/// </summary>
[Collection("S3")]
public sealed class S3DoctorTests : S3TestBase
{
    private const string Prefix = "repo";
    private readonly List<string> _buckets = [];

    private sealed record Expected(string Put, string List, string Read, string Overwrite, bool? TookEffect, string Delete, string Fits);

    /// <summary>The other write routes: a multipart completion over the canary (and whether it took), a copy onto itself.</summary>
    private sealed record Routes(string Multipart, bool? TookEffect, string Copy);

    private const string Multipart = "multipart-overwrite", Copy = "copy-onto-itself";

    [Fact]
    public async Task Doctor_SaysWhatEachRoleCanReallyDo_OnAPlainAndAVersionedBucket()
    {
        S3Env.EnsureWriteOnlyUser();
        var plain = await CreateBucketAsync(versioned: false);
        var versioned = await CreateBucketAsync(versioned: true);

        // A second put is refused on the plain bucket; only the admin deletes, only client and admin read. But RGW completes
        // a multipart upload over an existing object for anyone who may put, and copies an object onto itself for anyone
        // who may also read it (a copy reads its source: write-only credentials may not read inflight/).
        Routes replacedAndRedated = new("allowed", true, "allowed"), blindReplace = new("allowed", null, "denied");
        Check(plain, S3Env.Client, "client", new("allowed", "allowed", "allowed", "denied", false, "denied", "client"), replacedAndRedated,
            exceeds: [Multipart, Copy], versioning: "off");
        Check(plain, S3Env.WriteOnly, "write-only", new("allowed", "allowed", "denied", "denied", false, "denied", "write-only"), blindReplace,
            exceeds: [Multipart], versioning: "unknown");
        Check(plain, S3Env.Admin, "admin", new("allowed", "allowed", "allowed", "denied", false, "allowed", "admin"), replacedAndRedated,
            exceeds: [], versioning: "off");
        Check(plain, S3Env.Admin, "client", new("allowed", "allowed", "allowed", "denied", false, "allowed", "admin"), replacedAndRedated,
            exceeds: [Multipart, Copy, "delete"], versioning: "off");
        Check(plain, S3Env.WriteOnly, "put-only", new("allowed", "allowed", "denied", "denied", false, "denied", "write-only"), blindReplace,
            exceeds: ["list", Multipart], versioning: "unknown");

        // On a versioned bucket RGW ignores If-None-Match on a put as well.
        Check(versioned, S3Env.Client, "client", new("allowed", "allowed", "allowed", "allowed", true, "denied", "client"), replacedAndRedated,
            exceeds: ["overwrite", Multipart, Copy], versioning: "enabled");
        Check(versioned, S3Env.WriteOnly, "write-only", new("allowed", "allowed", "denied", "allowed", null, "denied", "write-only"), blindReplace,
            exceeds: ["overwrite", Multipart], versioning: "unknown");
        Check(versioned, S3Env.Admin, "admin", new("allowed", "allowed", "allowed", "allowed", true, "allowed", "admin"), replacedAndRedated,
            exceeds: [], versioning: "enabled");

        // init runs the same check and prints the same table.
        var init = Init(S3Env.Admin, Url(versioned));
        Assert.Matches(@"(?m)^  overwrite +ALLOWED: the object was replaced ", init.Stdout);
        Assert.Matches(@"(?m)^  multipart-overwrite +ALLOWED: the object was replaced ", init.Stdout);
        Assert.Matches(@"(?m)^  copy-onto-itself +ALLOWED: the object was re-dated ", init.Stdout);
        Assert.Contains("these credentials keep to the admin role", init.Stdout);
        Assert.Contains(init.StderrLines, l => l.StartsWith("dedup: warning: this server ignores the create-only condition on this bucket", StringComparison.Ordinal));
        Assert.Contains(init.StderrLines, l => l.StartsWith("dedup: warning: this server lets these credentials replace an existing object by completing a multipart upload over it, and re-date", StringComparison.Ordinal));
    }

    private void Check(string bucket, S3Credentials who, string expect, Expected e, Routes routes, string[] exceeds, string versioning)
    {
        var url = Url(bucket);
        var human = Run(who, url, ["doctor", "--expect", expect]);
        var json = Run(who, url, ["doctor", "--expect", expect, "--json"]);
        var context = $"{who.Key} on {bucket} expecting {expect}: {human}";
        int code = exceeds.Length > 0 ? 5 : 0;
        Assert.True(human.ExitCode == code && json.ExitCode == code, context);

        var r = JsonDocument.Parse(json.Stdout).RootElement;
        Assert.Equal("credentials", r.GetProperty("message_type").GetString());
        var tookEffect = r.GetProperty("overwrite_took_effect");
        Assert.Equal(e, new Expected(r.GetProperty("put").GetString()!, r.GetProperty("list").GetString()!, r.GetProperty("read").GetString()!,
            r.GetProperty("overwrite").GetString()!, tookEffect.ValueKind == JsonValueKind.Null ? null : tookEffect.GetBoolean(),
            r.GetProperty("delete").GetString()!, r.GetProperty("fits").GetString()!));
        var w = r.GetProperty("write_routes");
        var multipartTook = w.GetProperty("multipart_took_effect");
        Assert.Equal(routes, new Routes(w.GetProperty("multipart_overwrite").GetString()!, multipartTook.ValueKind == JsonValueKind.Null ? null : multipartTook.GetBoolean(),
            w.GetProperty("copy_onto_itself").GetString()!));
        Assert.Equal(exceeds, r.GetProperty("exceeds").EnumerateArray().Select(x => x.GetString()!));
        Assert.Equal(versioning, r.GetProperty("versioning").GetString());
        var warnings = r.GetProperty("warnings").EnumerateArray().Select(x => x.GetString()!).ToList();
        Assert.Equal(e.Overwrite == "allowed", warnings.Any(x => x.Contains("ignores the create-only condition") || x.Contains("second create-only put")));
        Assert.Equal(routes.Multipart == "allowed", warnings.Any(x => x.Contains("multipart upload over")));
        Assert.Equal(routes.Copy == "allowed", warnings.Any(x => x.Contains("copying it onto itself")));

        // The table says the same, row by row, with the verdict against the expected role.
        foreach (var capability in new[] { "put", "list", "read", "overwrite", Multipart, Copy, "delete" })
        {
            var row = human.Stdout.Split('\n').Single(l => l.StartsWith("  " + capability + " ", StringComparison.Ordinal));
            Assert.EndsWith(exceeds.Contains(capability) ? $"TOO MUCH: {expect} must not {capability}" : "ok", row);
        }
        Assert.Contains(exceeds.Length > 0 ? $"these credentials can do more than {expect} allows: {string.Join(", ", exceeds)}" : $"these credentials keep to the {expect} role",
            human.Stdout);
        if (e.Overwrite == "allowed") Assert.Contains(human.StderrLines, l => l.Contains("create-only condition on this bucket"));
        if (routes.Multipart == "allowed") Assert.Contains(human.StderrLines, l => l.Contains("multipart upload over"));
    }

    private static string Url(string bucket) => $"s3:{S3Env.Endpoint}/{bucket}/{Prefix}";

    /// <summary>A fresh bucket whose policy grants client, write-only and admin exactly what 'dedup policy' prints for each.</summary>
    private async Task<string> CreateBucketAsync(bool versioned)
    {
        var bucket = $"dedup-e2e-dr-{Guid.NewGuid():N}"[..30];
        using var s3 = S3Env.Sdk(S3Env.Admin);
        await s3.PutBucketAsync(bucket);
        _buckets.Add(bucket);
        if (versioned)
            await s3.PutBucketVersioningAsync(new PutBucketVersioningRequest
            {
                BucketName = bucket, VersioningConfig = new S3BucketVersioningConfig { Status = VersionStatus.Enabled },
            });
        var statements = new JsonArray
        {
            new JsonObject
            {
                ["Sid"] = "Admin", ["Effect"] = "Allow", ["Principal"] = new JsonObject { ["AWS"] = new JsonArray("arn:aws:iam:::user/admin") },
                ["Action"] = new JsonArray("s3:*"), ["Resource"] = new JsonArray($"arn:aws:s3:::{bucket}", $"arn:aws:s3:::{bucket}/*"),
            },
        };
        foreach (var (role, user) in new[] { ("client", "client"), ("write-only", S3Env.WriteOnlyUser) })
        {
            var printed = Cli.Run(["policy", "--bucket", bucket, "--prefix", Prefix, "--role", role, "--principal", "arn:aws:iam:::user/" + user], withPassword: false);
            Assert.True(printed.ExitCode == 0, printed.ToString());
            foreach (var statement in JsonNode.Parse(printed.Stdout)!["Statement"]!.AsArray().Select(s => s!.DeepClone().AsObject()))
            {
                statement["Sid"] = role.Replace("-", "", StringComparison.Ordinal) + statement["Sid"]!.GetValue<string>();
                statements.Add(statement);
            }
        }
        await s3.PutBucketPolicyAsync(bucket, new JsonObject { ["Version"] = "2012-10-17", ["Statement"] = statements }.ToJsonString());
        return bucket;
    }

    public override void Dispose()
    {
        using (var s3 = S3Env.Sdk(S3Env.Admin))
        {
            foreach (var bucket in _buckets)
            {
                try
                {
                    // Every version and delete marker, so that the bucket can go.
                    var versions = s3.ListVersionsAsync(new ListVersionsRequest { BucketName = bucket }).GetAwaiter().GetResult();
                    foreach (var v in versions.Versions ?? []) s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket, Key = v.Key, VersionId = v.VersionId }).GetAwaiter().GetResult();
                    s3.DeleteBucketAsync(bucket).GetAwaiter().GetResult();
                }
                catch (AmazonS3Exception)
                {
                }
            }
        }
        base.Dispose();
    }
}
