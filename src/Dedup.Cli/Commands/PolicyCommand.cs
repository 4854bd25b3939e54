using System.CommandLine;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Dedup.Cli.Cli;

namespace Dedup.Cli.Commands;

/// <summary>Prints the S3 policies a repository needs, so that nobody hand-writes IAM JSON.</summary>
public sealed class PolicyCommand : Verb
{
    private readonly Option<string> _bucket = Opt.Text("bucket", "B", "the bucket");
    private readonly Option<string> _prefix = Opt.Text("prefix", "P", "the repository's key prefix inside the bucket");
    private readonly Option<string> _role = Opt.OneOf("role", "whose policy to print", "client", "write-only", "put-only", "admin");
    private readonly Option<bool> _withList = Opt.Flag("with-list", "put-only: also allow listing the prefix");
    private readonly Option<bool> _withMultipart = Opt.Flag("with-multipart", "put-only: also allow the multipart list and abort actions");
    private readonly Option<string[]> _principal = Opt.List("principal", "ARN", "print a bucket policy for this principal");
    private readonly Option<string[]> _keyId = Opt.List("key-id", "ID", "write-only: a host's own key file, the only key file it may read");

    public PolicyCommand() : base("policy", "Print the S3 policy JSON for a backup client or the admin.", """
        client  may read, list and create objects under the prefix, but never delete them, and read old versions
                (s3:ListBucketVersions, s3:GetObjectVersion) for --as-of on a versioned bucket. Creates must carry
                If-None-Match (enforced where the server knows the s3:if-none-match condition key), so existing
                objects cannot be overwritten. No multipart abort either: stale uploads are the admin's to clean.
        write-only  for hosts with a write-only key: may list the prefix, read only what a backup needs (config,
                its own key file keys/ID given by --key-id, index/, marks/, revocations/) and create data/, index/,
                snapshots/ and inflight/ objects (create-only, as client). No other key file is readable (no
                offline guessing of other passwords); the host opens its own key by ID (dedup --key ID, or the ID
                it remembers). Reading data/, snapshots/ and inflight/ is denied outright, even for objects the
                host uploaded itself (S3 lets an object's owner read it unless a policy denies it).
        put-only  for hosts that back up from an enrolment ('dedup enroll') and read nothing: s3:PutObject on the
                prefix, create-only, and nothing else; --with-list adds listing the prefix, --with-multipart the
                multipart actions (ListBucketMultipartUploads, ListMultipartUploadParts, AbortMultipartUpload).
        admin   everything on the bucket and prefix: what prune, forget and 'key remove' need, and with Object Lock
                ('dedup retention', prune on a versioned bucket) s3:GetBucketObjectLockConfiguration,
                s3:PutBucketObjectLockConfiguration, s3:ListBucketVersions, s3:GetObjectRetention,
                s3:PutObjectRetention and s3:DeleteObjectVersion. Dedup never uses s3:BypassGovernanceRetention.
        Every backup role (client, write-only, put-only) explicitly denies what would touch Object Lock: changing a
        retention (or writing an object with its own, shorter one), bypassing governance mode, changing the bucket's
        default retention, and deleting a version.
        Without --principal the output is an IAM identity policy (attach it to the user or role). With
        --principal it is a bucket policy naming that principal (for Ceph RGW: arn:aws:iam:::user/NAME).
        The output is always the policy document (indented), with or without --json.
        Needs no repository and no password.
        """)
    {
        _bucket.Required = true;
        _role.Required = true;
        foreach (var o in new Option[] { _bucket, _prefix, _role, _withList, _withMultipart, _principal, _keyId }) Add(o);
    }

    public override Task<int> RunAsync(CliContext ctx)
    {
        var bucket = ctx.Get(_bucket)!;
        var prefix = (ctx.Get(_prefix) ?? "").Trim('/');
        if (bucket.Contains('/') || bucket.Length == 0) throw new UsageException($"'{bucket}' is not a bucket name");
        if (ctx.Get(_keyId) is { Length: > 0 } && ctx.Get(_role) != "write-only")
            throw new UsageException("--key-id only goes with --role write-only: client and admin credentials read every key file");
        // Depends on --role's value, which a declared rule (OnlyWith) cannot express.
        if ((ctx.Get(_withList) || ctx.Get(_withMultipart)) && ctx.Get(_role) != "put-only")
            throw new UsageException("--with-list and --with-multipart only go with --role put-only");
        var policy = ctx.Get(_role) switch
        {
            "client" => Client(bucket, prefix),
            "write-only" => WriteOnly(bucket, prefix, ctx.Get(_keyId) ?? []),
            "put-only" => PutOnly(bucket, prefix, ctx.Get(_withList), ctx.Get(_withMultipart)),
            _ => Admin(bucket, prefix),
        };
        if (ctx.Get(_principal) is { Length: > 0 } principals)
        {
            var principal = new Dictionary<string, IReadOnlyList<string>> { ["AWS"] = principals };
            policy = policy with { Statement = policy.Statement.Select(s => s with { Principal = principal }).ToList() };
        }
        // Always indented: the output is meant to be read, pasted into a console, or piped to a file.
        ctx.Out.WriteLine(JsonLines.Indented(policy, CliJson.Default.IamPolicy));
        return Task.FromResult(ExitCodes.Ok);
    }

    /// <summary>Refuses object-creating writes without If-None-Match. s3:ObjectCreationOperation exempts the multipart
    /// steps that cannot carry the header (CreateMultipartUpload, UploadPart); CompleteMultipartUpload must.</summary>
    private static Condition CreateOnly() => new()
    {
        ["Null"] = new() { ["s3:if-none-match"] = "true" },
        ["Bool"] = new() { ["s3:ObjectCreationOperation"] = "true" },
    };

    /// <summary>
    /// Refuses a put that asks for any storage class but STANDARD. Dedup never asks for one outside data/ (only packs may
    /// go cold), and on AWS an archive class answers every read with 403 InvalidObjectState: one planted snapshot or
    /// index file that nobody can read would stop the admin's forget and prune (spec threat 29). A put without the
    /// header gets the bucket's default class and is allowed. Servers that do not know the condition key (Ceph RGW
    /// ignores it) treat it as absent, so the statement never refuses a put there.
    /// </summary>
    private static PolicyStatement MetadataStaysReadable(JsonArray metadata) =>
        new("MetadataStaysReadable", "Deny", ["s3:PutObject"], metadata, new Condition
        {
            ["StringNotEquals"] = new() { ["s3:x-amz-storage-class"] = "STANDARD" },
            ["Null"] = new() { ["s3:x-amz-storage-class"] = "false" },
        });

    public static IamPolicy Client(string bucket, string prefix)
    {
        var objects = ObjectsArn(bucket, prefix);
        return new IamPolicy([
            new("ListRepository", "Allow", ["s3:ListBucket"], BucketArn(bucket), PrefixCondition(prefix)),
            new("ReadBucketSettings", "Allow",
                ["s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration", "s3:ListBucketMultipartUploads"],
                BucketArn(bucket)),
            new("ReadAndCreateObjects", "Allow", ["s3:GetObject", "s3:PutObject"], objects),
            // --as-of reads (spec/versioned-recovery.md): a full-key host may restore its files as they were before an
            // attack. Old versions hold nothing its key could not read anyway; deleting them stays denied below.
            new("ListOldVersions", "Allow", ["s3:ListBucketVersions"], BucketArn(bucket), PrefixCondition(prefix)),
            new("ReadOldVersions", "Allow", ["s3:GetObjectVersion"], ObjectsArn(bucket, prefix)),
            new("CreateOnlyNoOverwrite", "Deny", ["s3:PutObject"], objects, CreateOnly()),
            MetadataStaysReadable(Arns(bucket, prefix, "config", "keys/*", "index/*", "snapshots/*", "inflight/*", "marks/*", "revocations/*", "tombstones/*")),
            NeverTouchRetention(bucket, prefix),
        ]);
    }

    /// <summary>
    /// What a backup with a write-only key needs, and no more: its own key file, the config, indexes, prune marks and
    /// revocations are read; packs, indexes, snapshots and backup markers are created. Content (data/, snapshots/) and
    /// backup markers (inflight/, which no backup reads back) are never readable: the explicit Deny also overrides the
    /// read access S3 gives an object's owner, so 'dedup doctor' finds no read beyond what the role needs.
    /// </summary>
    public static IamPolicy WriteOnly(string bucket, string prefix, IReadOnlyList<string> keyIds)
    {
        foreach (var keyId in keyIds)
            if (!Dedup.Format.ObjectId.TryParse(keyId.ToLowerInvariant(), out _))
                throw new UsageException($"--key-id takes the host's key file ID (64 hex digits, 'dedup key list --json' shows it), not '{keyId}'");
        var created = Arns(bucket, prefix, "data/*", "index/*", "snapshots/*", "inflight/*");
        string[] readable = ["config", "index/*", "marks/*", "revocations/*", .. keyIds.Select(k => "keys/" + k.ToLowerInvariant())];
        return new IamPolicy([
            new("ListRepository", "Allow", ["s3:ListBucket"], BucketArn(bucket), PrefixCondition(prefix)),
            new("ReadWhatBackupNeeds", "Allow", ["s3:GetObject"], Arns(bucket, prefix, readable)),
            new("CreateBackupObjects", "Allow", ["s3:PutObject"], created),
            new("CreateOnlyNoOverwrite", "Deny", ["s3:PutObject"], created, CreateOnly()),
            new("NeverReadContent", "Deny", ["s3:GetObject"], Arns(bucket, prefix, "data/*", "snapshots/*", "inflight/*")),
            MetadataStaysReadable(Arns(bucket, prefix, "index/*", "snapshots/*", "inflight/*")),
            NeverTouchRetention(bucket, prefix),
        ]);
    }

    /// <summary>
    /// A put-only host (issue 13): create-only puts of the objects a backup writes, and nothing else; with --with-list
    /// listing the prefix, with --with-multipart the multipart bookkeeping. No GetObject at all: not even ciphertext. The
    /// explicit Deny matters: S3 servers that keep object ACLs (Ceph RGW, AWS buckets with ACLs enabled) let an object's
    /// uploader read it back, so without it a stolen credential would yield every pack the host stored.
    /// </summary>
    public static IamPolicy PutOnly(string bucket, string prefix, bool withList, bool withMultipart)
    {
        var created = Arns(bucket, prefix, "data/*", "index/*", "snapshots/*", "inflight/*");
        var statements = new List<PolicyStatement>
        {
            new("CreateBackupObjects", "Allow", ["s3:PutObject"], created),
            new("CreateOnlyNoOverwrite", "Deny", ["s3:PutObject"], created.DeepClone(), CreateOnly()),
            new("NeverRead", "Deny", ["s3:GetObject"], ObjectsArn(bucket, prefix)),
            MetadataStaysReadable(Arns(bucket, prefix, "index/*", "snapshots/*", "inflight/*")),
            NeverTouchRetention(bucket, prefix),
        };
        if (withList) statements.Add(new("ListRepository", "Allow", ["s3:ListBucket"], BucketArn(bucket), PrefixCondition(prefix)));
        if (withMultipart)
        {
            statements.Add(new("ListUploads", "Allow", ["s3:ListBucketMultipartUploads"], BucketArn(bucket)));
            statements.Add(new("MultipartParts", "Allow", ["s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"], created.DeepClone()));
        }
        return new IamPolicy(statements);
    }

    /// <summary>Object Lock actions a backup host never needs (spec/object-lock.md, threat 34-36).</summary>
    public static readonly string[] RetentionActions =
    [
        "s3:PutObjectRetention", "s3:BypassGovernanceRetention", "s3:PutObjectLegalHold", "s3:PutBucketObjectLockConfiguration", "s3:DeleteObjectVersion",
    ];

    /// <summary>
    /// Backup hosts never touch Object Lock: the bucket's default retention locks what they write without their asking.
    /// The explicit Deny holds whatever else grants them (an s3:* granted by mistake, an object's owner rights); on AWS a
    /// put with its own lock headers needs s3:PutObjectRetention, so it also stops a host from locking its writes more
    /// briefly than the default.
    /// </summary>
    private static PolicyStatement NeverTouchRetention(string bucket, string prefix) =>
        new("NeverTouchRetention", "Deny", RetentionActions, new JsonArray(BucketArn(bucket), ObjectsArn(bucket, prefix)));

    public static IamPolicy Admin(string bucket, string prefix) => new([
        new("AdminBucket", "Allow", ["s3:*"], BucketArn(bucket)),
        new("AdminObjects", "Allow", ["s3:*"], ObjectsArn(bucket, prefix)),
    ]);

    private static JsonArray Arns(string bucket, string prefix, params string[] rest) =>
        new([.. rest.Select(r => (JsonNode)(prefix.Length == 0 ? $"arn:aws:s3:::{bucket}/{r}" : $"arn:aws:s3:::{bucket}/{prefix}/{r}"))]);

    private static JsonValue BucketArn(string bucket) => JsonValue.Create($"arn:aws:s3:::{bucket}");

    private static JsonValue ObjectsArn(string bucket, string prefix) =>
        JsonValue.Create(prefix.Length == 0 ? $"arn:aws:s3:::{bucket}/*" : $"arn:aws:s3:::{bucket}/{prefix}/*");

    private static Condition? PrefixCondition(string prefix) => prefix.Length == 0 ? null : new()
    {
        ["StringLike"] = new() { ["s3:prefix"] = new JsonArray(prefix, prefix + "/*") },
    };
}

/// <summary>An IAM condition block: operator → condition key → value (a string or a list).</summary>
public sealed class Condition : Dictionary<string, Dictionary<string, JsonNode>>;

/// <summary>An IAM policy document. Its member names are AWS's, not Dedup's output convention.</summary>
public sealed record IamPolicy([property: JsonPropertyName("Statement")] IReadOnlyList<PolicyStatement> Statement)
{
    [JsonPropertyName("Version")] [JsonPropertyOrder(-1)] public string Version => "2012-10-17";
}

/// <summary>One statement; Resource is a string or a list, as AWS writes them.</summary>
public sealed record PolicyStatement(
    [property: JsonPropertyName("Sid")] string Sid,
    [property: JsonPropertyName("Effect")] string Effect,
    [property: JsonPropertyName("Action")] IReadOnlyList<string> Action,
    [property: JsonPropertyName("Resource")] JsonNode Resource,
    [property: JsonPropertyName("Condition"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Condition? Condition = null)
{
    [JsonPropertyName("Principal")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Principal { get; init; }
}
