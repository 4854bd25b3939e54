using System.Text.Json;
using System.Text.Json.Nodes;
using Dedup.Cli.Cli;

namespace Dedup.Cli.Commands;

/// <summary>Prints the S3 policies a repository needs, so that nobody hand-writes IAM JSON.</summary>
public static class PolicyCommand
{
    public static readonly Verb Verb = new("policy", "--bucket B [--prefix P] --role client|write-only|admin [--principal ARN]",
        "Print the S3 policy JSON for a backup client or the admin.",
        """
        client  may read, list and create objects under the prefix, but never delete them. Creates must carry
                If-None-Match (enforced where the server knows the s3:if-none-match condition key), so existing
                objects cannot be overwritten. No multipart abort either: stale uploads are the admin's to clean.
        write-only  for hosts with a write-only key: may list the prefix, read only what a backup needs (config,
                its own key file keys/ID given by --key-id, index/, marks/, revocations/) and create data/, index/,
                snapshots/ and inflight/ objects (create-only, as client). No other key file is readable (no
                offline guessing of other passwords); the host opens its own key by ID (dedup --key ID, or the ID
                it remembers). Reading data/ and snapshots/ is denied outright, even for objects the host uploaded
                itself (S3 lets an object's owner read it unless a policy denies it).
        admin   everything on the bucket and prefix: what prune, forget and 'key remove' need.
        Without --principal the output is an IAM identity policy (attach it to the user or role). With
        --principal it is a bucket policy naming that principal (for Ceph RGW: arn:aws:iam:::user/NAME).
        Needs no repository and no password.
        """,
        [
            new("bucket", null, "B", "the bucket"),
            new("prefix", null, "P", "the repository's key prefix inside the bucket"),
            new("role", null, "client|write-only|admin", "whose policy to print"),
            new("principal", null, "ARN", "print a bucket policy for this principal", Repeatable: true),
            new("key-id", null, "ID", "write-only: a host's own key file, the only key file it may read", Repeatable: true),
        ],
        0, 0, Run);

    private static Task<int> Run(CliContext ctx)
    {
        var bucket = ctx.Args.Get("bucket") ?? throw new UsageException("policy needs --bucket B");
        var role = ctx.Args.Get("role") ?? throw new UsageException("policy needs --role client, write-only or admin");
        var prefix = (ctx.Args.Get("prefix") ?? "").Trim('/');
        if (bucket.Contains('/') || bucket.Length == 0) throw new UsageException($"'{bucket}' is not a bucket name");
        var policy = role switch
        {
            "client" => Client(bucket, prefix),
            "write-only" => WriteOnly(bucket, prefix, ctx.Args.GetAll("key-id")),
            "admin" => Admin(bucket, prefix),
            _ => throw new UsageException($"--role is client, write-only or admin, not '{role}'"),
        };
        var principals = ctx.Args.GetAll("principal");
        if (principals.Count > 0)
            foreach (var statement in policy["Statement"]!.AsArray())
                statement!["Principal"] = new JsonObject { ["AWS"] = Strings(principals) };
        // Always indented: the output is meant to be read, pasted into a console, or piped to a file.
        ctx.Out.WriteLine(policy.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return Task.FromResult(ExitCodes.Ok);
    }

    public static JsonObject Client(string bucket, string prefix)
    {
        var objects = ObjectsArn(bucket, prefix);
        return Policy(
            Statement("ListRepository", "Allow", ["s3:ListBucket"], BucketArn(bucket), PrefixCondition(prefix)),
            Statement("ReadBucketSettings", "Allow",
                ["s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration", "s3:ListBucketMultipartUploads"],
                BucketArn(bucket)),
            Statement("ReadAndCreateObjects", "Allow", ["s3:GetObject", "s3:PutObject"], objects),
            // Refuses object-creating writes without If-None-Match. s3:ObjectCreationOperation exempts the multipart
            // steps that cannot carry the header (CreateMultipartUpload, UploadPart); CompleteMultipartUpload must.
            Statement("CreateOnlyNoOverwrite", "Deny", ["s3:PutObject"], objects, new JsonObject
            {
                ["Null"] = new JsonObject { ["s3:if-none-match"] = "true" },
                ["Bool"] = new JsonObject { ["s3:ObjectCreationOperation"] = "true" },
            }));
    }

    /// <summary>
    /// What a backup with a write-only key needs, and no more: its own key file, the config, indexes, prune marks and revocations
    /// are read; packs, indexes, snapshots and backup markers are created. Content (data/, snapshots/) is never
    /// readable: the explicit Deny also overrides the read access S3 gives an object's owner.
    /// </summary>
    public static JsonObject WriteOnly(string bucket, string prefix, IReadOnlyList<string>? keyIds = null)
    {
        foreach (var keyId in keyIds ?? [])
            if (!Dedup.Format.ObjectId.TryParse(keyId.ToLowerInvariant(), out _))
                throw new UsageException($"--key-id takes the host's key file ID (64 hex digits), not '{keyId}'");
        string[] readable = ["config", "index/*", "marks/*", "revocations/*", .. (keyIds ?? []).Select(k => "keys/" + k.ToLowerInvariant())];
        string[] created = [.. new[] { "data/*", "index/*", "snapshots/*", "inflight/*" }.Select(p => ObjectArn(bucket, prefix, p))];
        return Policy(
            Statement("ListRepository", "Allow", ["s3:ListBucket"], BucketArn(bucket), PrefixCondition(prefix)),
            Statement("ReadWhatBackupNeeds", "Allow", ["s3:GetObject"],
                [.. readable.Select(p => ObjectArn(bucket, prefix, p))]),
            Statement("CreateBackupObjects", "Allow", ["s3:PutObject"], created),
            Statement("CreateOnlyNoOverwrite", "Deny", ["s3:PutObject"], created, new JsonObject
            {
                ["Null"] = new JsonObject { ["s3:if-none-match"] = "true" },
                ["Bool"] = new JsonObject { ["s3:ObjectCreationOperation"] = "true" },
            }),
            Statement("NeverReadContent", "Deny", ["s3:GetObject"], [ObjectArn(bucket, prefix, "data/*"), ObjectArn(bucket, prefix, "snapshots/*")]));
    }

    public static JsonObject Admin(string bucket, string prefix) => Policy(
        Statement("AdminBucket", "Allow", ["s3:*"], BucketArn(bucket)),
        Statement("AdminObjects", "Allow", ["s3:*"], ObjectsArn(bucket, prefix)));

    private static string ObjectArn(string bucket, string prefix, string rest) =>
        prefix.Length == 0 ? $"arn:aws:s3:::{bucket}/{rest}" : $"arn:aws:s3:::{bucket}/{prefix}/{rest}";

    private static string BucketArn(string bucket) => $"arn:aws:s3:::{bucket}";

    private static string ObjectsArn(string bucket, string prefix) => prefix.Length == 0 ? $"arn:aws:s3:::{bucket}/*" : $"arn:aws:s3:::{bucket}/{prefix}/*";

    private static JsonObject? PrefixCondition(string prefix) => prefix.Length == 0 ? null : new JsonObject
    {
        ["StringLike"] = new JsonObject { ["s3:prefix"] = Strings([prefix, prefix + "/*"]) },
    };

    private static JsonObject Policy(params JsonObject[] statements) => new()
    {
        ["Version"] = "2012-10-17",
        ["Statement"] = new JsonArray(statements.Select(s => (JsonNode)s).ToArray()),
    };

    private static JsonObject Statement(string sid, string effect, string[] actions, string resource, JsonObject? condition = null) =>
        Statement(sid, effect, actions, JsonValue.Create(resource), condition);

    private static JsonObject Statement(string sid, string effect, string[] actions, string[] resources, JsonObject? condition = null) =>
        Statement(sid, effect, actions, Strings(resources), condition);

    private static JsonObject Statement(string sid, string effect, string[] actions, JsonNode resource, JsonObject? condition)
    {
        var s = new JsonObject { ["Sid"] = sid, ["Effect"] = effect, ["Action"] = Strings(actions), ["Resource"] = resource };
        if (condition is not null) s["Condition"] = condition;
        return s;
    }

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)v).ToArray());
}
