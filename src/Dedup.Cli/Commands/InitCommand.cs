using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Cli.Cli;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Storage;
using Dedup.Storage.S3;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

/// <summary>Key-derivation tuning, shared by 'init', 'key add' and 'key passwd' (each gets its own option objects).</summary>
public sealed class KdfOptions
{
    private readonly Option<int?> _memory = Opt.Int("argon2-memory", "KiB", 8 * Argon2Parameters.Default.Parallelism, Argon2Parameters.MaxMemoryKiB,
        $"Argon2id memory for the key (default {Argon2Parameters.Default.MemoryKiB}); lower only for tests");
    private readonly Option<int?> _iterations = Opt.Int("argon2-iterations", "N", 1, Argon2Parameters.MaxIterations,
        $"Argon2id passes for the key (default {Argon2Parameters.Default.Iterations})");

    public IEnumerable<Option> All => [_memory, _iterations];

    public Argon2Parameters Read(CliContext ctx)
    {
        var d = Argon2Parameters.Default;
        var kdf = new Argon2Parameters(ctx.Get(_memory) ?? d.MemoryKiB, ctx.Get(_iterations) ?? d.Iterations, d.Parallelism);
        kdf.Validate();
        return kdf;
    }
}

public sealed class InitCommand : Verb
{
    private readonly KdfOptions _kdf = new();
    private readonly Option<int?> _packSize = Opt.Int("pack-size", "MiB", RepositoryConfig.MinPackSize >> 20, RepositoryConfig.MaxPackSize >> 20, "target pack size (default 16)");
    private readonly Option<string> _retentionMode = Opt.OneOf("retention-mode", "S3 Object Lock: set the bucket's default retention to this mode (see 'dedup help retention')", "governance", "compliance");
    private readonly Option<TimeSpan?> _retentionPeriod = Opt.Duration("retention-period", "with --retention-mode: lock every object this many whole days (30d)");

    public InitCommand() : base("init", "Create a new repository and its first key.", """
        The password is read like every other verb's (see 'dedup help environment'); on a terminal it is asked twice.
        For S3 repositories, init reports whether the bucket keeps old versions or has Object Lock, and warns when
        it has neither: then a client with write access could destroy backups by overwriting them.
        Then it checks what the credentials can really do, as 'dedup doctor' does, and prints the table.
        --retention-mode and --retention-period set the bucket's Object Lock default retention first, so that even the
        repository's first objects are locked (as 'dedup retention set'); the bucket must have Object Lock.
        """)
    {
        foreach (var o in _kdf.All) Add(o);
        Add(_packSize);
        Add(_retentionMode);
        Add(_retentionPeriod);
        OnlyWith(_retentionPeriod, _retentionMode);
        OnlyWith(_retentionMode, _retentionPeriod);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var options = new InitOptions { Kdf = _kdf.Read(ctx) };
        if (ctx.Get(_packSize) is { } mib) options = options with { PackSize = mib << 20 };

        var handle = ctx.OpenStorage();
        IStorage storage = handle.Storage;
        if (handle.S3 is { } s3 && !await s3.BucketExistsAsync(ctx.Cancellation).ConfigureAwait(false))
            throw new StorageException($"{storage.Location}: the bucket does not exist; create it first (see the README's S3 setup)");
        BucketRetention? retention = null;
        if (ctx.Get(_retentionMode) is { } mode)
            retention = await RetentionCommands.SetAsync(ctx, RetentionCommands.RequireS3(ctx), mode, ctx.Get(_retentionPeriod)!.Value, "--retention-period").ConfigureAwait(false);
        ObjectId keyId;
        using (var password = ctx.RepositoryPassword(confirm: true))
            keyId = await Repo.InitAsync(storage, password.Memory, options, ct: ctx.Cancellation).ConfigureAwait(false);
        await using var config = await storage.OpenReadAsync(Layout.Config, cancellationToken: ctx.Cancellation).ConfigureAwait(false);
        var parsed = RepositoryConfig.Parse(await ReadAllAsync(config, ctx.Cancellation).ConfigureAwait(false));

        ctx.Say($"created repository {parsed.Id[..8]} at {storage.Location}");
        ctx.Say($"key {keyId.ToShortString()} added. Keep the password safe: without it the backups cannot be read.");
        if (retention is not null)
            ctx.Say($"Object Lock: every object is locked for {retention.Days} days in {RetentionCommands.Name(retention.Mode)} mode (the bucket's default retention); 'dedup prune' extends it on live objects");
        // What these credentials can really do, and the bucket's protection (with a warning when it has none).
        var credentials = await DoctorCommand.ProbeAsync(ctx, handle, expect: null).ConfigureAwait(false);
        if (ctx.Json)
        {
            ctx.WriteJson(new InitResult(parsed.Id, storage.Location, keyId.ToString(), parsed.PackSize, credentials.Versioning, credentials.ObjectLock, credentials)
                { RetentionMode = retention is null ? null : RetentionCommands.Name(retention.Mode), RetentionDays = retention?.Days },
                CliJson.Default.InitResult);
        }
        return ExitCodes.Ok;
    }

    private static async Task<byte[]> ReadAllAsync(Stream s, CancellationToken ct)
    {
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms, ct).ConfigureAwait(false);
        return ms.ToArray();
    }
}

/// <summary>'init --json'; versioning and object_lock only for S3.</summary>
public sealed record InitResult(
    string Id, string Location, string KeyId, int PackSize,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Versioning,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ObjectLock,
    CredentialsReport Credentials)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? RetentionMode { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? RetentionDays { get; init; }

    [JsonPropertyOrder(-1)] public string MessageType => "initialized";
}
