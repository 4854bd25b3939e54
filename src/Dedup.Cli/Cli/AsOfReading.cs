using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Dedup.Storage.S3;

namespace Dedup.Cli.Cli;

/// <summary>
/// --as-of TIME: the repository as the bucket held it then, read from the bucket's object versions
/// (spec/versioned-recovery.md). Only verbs that read take it; the store they get cannot write.
/// </summary>
public static class AsOfReading
{
    public const string Help = "read the repository as the bucket held it at TIME (a date, timestamp or age such as 2D), from its object "
                               + "versions; read verbs only, a versioned S3 bucket only; nothing is written";

    /// <summary>The verbs that only read: --as-of goes with these and no other (copy takes --from-as-of for its source).</summary>
    public static readonly IReadOnlySet<string> ReadVerbs = new HashSet<string>(StringComparer.Ordinal)
    {
        "snapshots", "ls", "restore", "check", "cat", "dump", "find", "diff", "stats", "mount",
    };

    /// <summary>Refuses --as-of on a verb that writes, before anything is opened.</summary>
    public static void RequireReadVerb(string verbName)
    {
        var first = verbName.Split(' ')[0];
        if (first == "copy")
            throw new UsageException("--as-of would apply to the repository 'copy' writes to; give --from-as-of to read the source as of a time");
        if (!ReadVerbs.Contains(first))
            throw new UsageException($"--as-of reads the repository as it was and writes nothing, so it does not go with '{verbName}'; it goes with {string.Join(", ", ReadVerbs)}");
    }

    /// <summary>The moment a --as-of style option names, or a usage error that shows the accepted forms.</summary>
    public static DateTimeOffset ParseTime(string text, string option)
    {
        var clock = TimeProvider.System;
        if (SnapshotTime.TryParse(text, clock.GetUtcNow(), clock.LocalTimeZone, out var moment)) return moment;
        throw new UsageException($"{option} '{text}' is not a time: use {SnapshotTime.Forms}");
    }

    /// <summary>
    /// Opens a repository through <paramref name="storage"/>; when that is a view as of a time at which the repository's
    /// config did not exist, the error says so (and when it did exist) instead of suggesting 'dedup init'.
    /// </summary>
    public static async Task<T> ExplainMissingAsync<T>(StorageHandle storage, string url, Func<Task<T>> open, CancellationToken ct)
    {
        try
        {
            return await open().ConfigureAwait(false);
        }
        catch (RepositoryNotFoundException) when (storage.AsOf is { } view)
        {
            var at = AsOfStorage.Describe(view.Moment);
            var first = await view.FirstWrittenAsync(Layout.Config, ct).ConfigureAwait(false);
            if (first is null)
                throw new RepositoryException($"There is no Dedup repository at {url}, at any time the bucket kept: no version of its config exists. Check the URL.");
            if (first > view.Moment)
                throw new RepositoryException($"The repository at {url} did not exist yet at {at}: it was created at {AsOfStorage.Describe(first.Value)}. Give a later time.");
            throw new RepositoryException($"At {at} the repository at {url} had no config (it was deleted before then; a delete marker hid it). Give an earlier time, "
                                          + "or see what 'dedup rollback --to TIME --dry-run' would put back.");
        }
    }

    /// <summary>The read-only view as of <paramref name="moment"/>, once the bucket is known to keep versions.</summary>
    public static AsOfStorage View(string url, S3Storage? s3, DateTimeOffset moment)
    {
        if (s3 is null)
            throw new UsageException($"--as-of reads old object versions, which only a versioned S3 bucket keeps; '{url}' is a local folder");
        // Credentials that may not read the setting (Unknown) go on: the version listing itself then says what is allowed.
        if (s3.GetProtectionAsync().GetAwaiter().GetResult().Versioning == VersioningState.Off)
            throw new StorageException($"{s3.Location}: the bucket has no versioning, so it kept no old versions to read as of a time; "
                                       + "enable versioning (better: Object Lock) for recovery to be possible after the next change");
        return new AsOfStorage(s3, moment);
    }
}
