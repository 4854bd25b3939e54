using System.Text.Json.Nodes;
using Dedup.Cli.Cli;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Storage;
using Dedup.Storage.S3;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

public static class InitCommand
{
    /// <summary>Key-derivation tuning, shared with 'key add' and 'key passwd'.</summary>
    public static readonly OptionSpec[] KdfOptions =
    [
        new("argon2-memory", null, "KiB", $"Argon2id memory for the key (default {Argon2Parameters.Default.MemoryKiB}); lower only for tests"),
        new("argon2-iterations", null, "N", $"Argon2id passes for the key (default {Argon2Parameters.Default.Iterations})"),
    ];

    public static readonly Verb Verb = new("init", "",
        "Create a new repository and its first key.",
        """
        The password is read like every other verb's (see 'dedup help environment'); on a terminal it is asked twice.
        For S3 repositories, init reports whether the bucket keeps old versions or has Object Lock, and warns when
        it has neither: then a client with write access could destroy backups by overwriting them.
        """,
        [.. KdfOptions, new("pack-size", null, "MiB", "target pack size (default 16)")],
        0, 0, RunAsync);

    public static Argon2Parameters Kdf(ParsedArgs args)
    {
        var d = Argon2Parameters.Default;
        var kdf = new Argon2Parameters(
            args.GetInt("argon2-memory", 8 * d.Parallelism, Argon2Parameters.MaxMemoryKiB) ?? d.MemoryKiB,
            args.GetInt("argon2-iterations", 1, Argon2Parameters.MaxIterations) ?? d.Iterations,
            d.Parallelism);
        kdf.Validate();
        return kdf;
    }

    private static async Task<int> RunAsync(CliContext ctx)
    {
        var kdf = Kdf(ctx.Args);
        var packMiB = ctx.Args.GetInt("pack-size", RepositoryConfig.MinPackSize >> 20, RepositoryConfig.MaxPackSize >> 20);
        var options = new InitOptions { Kdf = kdf };
        if (packMiB is { } mib) options = options with { PackSize = mib << 20 };

        var handle = ctx.OpenStorage();
        IStorage storage = handle.Storage;
        if (handle.S3 is { } s3 && !await s3.BucketExistsAsync(ctx.Cancellation).ConfigureAwait(false))
            throw new StorageException($"{storage.Location}: the bucket does not exist; create it first (see the README's S3 setup)");
        ObjectId keyId;
        using (var password = Passwords.ForRepository(ctx.Args, confirm: true))
            keyId = await Repo.InitAsync(storage, password.Memory, options, ct: ctx.Cancellation).ConfigureAwait(false);
        await using var config = await storage.OpenReadAsync(Layout.Config, cancellationToken: ctx.Cancellation).ConfigureAwait(false);
        var parsed = RepositoryConfig.Parse(await ReadAllAsync(config, ctx.Cancellation).ConfigureAwait(false));

        BucketProtection? protection = handle.S3 is null ? null : await handle.S3.GetProtectionAsync(ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Json)
        {
            var json = new JsonObject
            {
                ["message_type"] = "initialized",
                ["id"] = parsed.Id,
                ["location"] = storage.Location,
                ["key_id"] = keyId.ToString(),
                ["pack_size"] = parsed.PackSize,
            };
            if (protection is { } p)
            {
                json["versioning"] = p.Versioning.ToString().ToLowerInvariant();
                json["object_lock"] = p.ObjectLock.ToString().ToLowerInvariant();
            }
            ctx.WriteJson(json);
        }
        else
        {
            ctx.Say($"created repository {parsed.Id[..8]} at {storage.Location}");
            ctx.Say($"key {keyId.ToShortString()} added. Keep the password safe: without it the backups cannot be read.");
            if (protection is { } p) ctx.Say($"bucket versioning: {p.Versioning.ToString().ToLowerInvariant()}, object lock: {p.ObjectLock.ToString().ToLowerInvariant()}");
        }
        if (protection is { Versioning: not VersioningState.Enabled, ObjectLock: not ObjectLockState.Enabled } q)
        {
            ctx.Warn(q.Versioning == VersioningState.Unknown || q.ObjectLock == ObjectLockState.Unknown
                ? "warning: could not read the bucket's versioning and Object Lock settings with these credentials; make sure one is on, or a compromised client could overwrite backups"
                : "warning: the bucket has neither versioning nor Object Lock: a compromised client could overwrite backups; enable versioning (see the README)");
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
