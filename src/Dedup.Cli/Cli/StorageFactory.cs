using Dedup.Storage;
using Dedup.Storage.S3;

namespace Dedup.Cli.Cli;

/// <summary>
/// An opened store and what owns it. <see cref="Storage"/> can delete because both backends can; verbs that
/// should not delete take it as <see cref="IStorage"/>, and only 'key remove' uses the maintenance view.
/// </summary>
public sealed class StorageHandle(IMaintenanceStorage storage, S3Storage? s3, IArchiveStorage? archive = null, TimeProvider? clock = null, AsOfStorage? asOf = null) : IDisposable
{
    /// <summary>The read-only view of the bucket as of a time, under the wrappers; null when reading the current state.</summary>
    public AsOfStorage? AsOf { get; } = asOf;

    /// <summary>Archive states and retrievals (S3 GLACIER, DEEP_ARCHIVE); null for local folders.</summary>
    public IArchiveStorage? Archive { get; } = archive ?? s3;

    /// <summary>The clock for waiting on retrievals: the system's, or the archive emulation's in tests.</summary>
    public TimeProvider Clock { get; } = clock ?? TimeProvider.System;

    public IMaintenanceStorage Storage { get; } = storage;

    /// <summary>The S3 backend itself, for bucket-level questions (versioning, Object Lock); null for local folders.</summary>
    public S3Storage? S3 { get; } = s3;

    public void Dispose() => S3?.Dispose();
}

/// <summary>S3 settings from the options or the profile; the credentials always come from the AWS chain.</summary>
public sealed record S3Settings(string? Region, string? StorageClass, int Connections)
{
    public const int DefaultConnections = 5;
}

public static class StorageFactory
{
    /// <summary>
    /// Opens a repository URL: "s3:…" for S3, anything else is a local folder. <paramref name="bandwidth"/> (--limit-upload,
    /// --limit-download) holds across every connection to the store. With <paramref name="asOf"/> it is the read-only view
    /// of the bucket's versions at that moment (<see cref="AsOfReading"/>).
    /// </summary>
    public static StorageHandle Open(string url, S3Settings settings, BandwidthLimits? bandwidth = null, DateTimeOffset? asOf = null)
    {
        bandwidth ??= new BandwidthLimits(null, null);
        if (asOf is not null && !url.StartsWith("s3:", StringComparison.Ordinal)) _ = AsOfReading.View(url, null, asOf.Value);
        // A local folder has no connections to limit and no transient errors to retry: only the bandwidth limit applies.
        if (!url.StartsWith("s3:", StringComparison.Ordinal)) return new StorageHandle(new LocalStorage(url).WithBandwidthLimit(bandwidth), null);
        S3Location location;
        try
        {
            location = S3Location.Parse(url);
        }
        catch (FormatException e)
        {
            throw new UsageException(e.Message);
        }
        var connections = settings.Connections;
        var options = new S3StorageOptions
        {
            Region = settings.Region,
            StorageClass = settings.StorageClass,
            MaxConnections = connections,
        };
        var s3 = new S3Storage(location, options);
        IMaintenanceStorage store = s3;
        ArchiveEmulatingStorage? emulation = null;
        AsOfStorage? view = null;
        TimeProvider? clock = null;
        try
        {
            if (asOf is { } moment)
            {
                store = view = AsOfReading.View(url, s3, moment);
            }
            else if (Environment.GetEnvironmentVariable(ArchiveEmulatingStorage.EnvironmentVariable) is { Length: > 0 } stateDirectory)
            {
                // Tests only: archive semantics emulated on a server that has none (see ArchiveEmulatingStorage).
                clock = new EmulatedArchiveClock(stateDirectory);
                store = emulation = new ArchiveEmulatingStorage(s3, stateDirectory, clock);
            }
        }
        catch
        {
            s3.Dispose();
            throw;
        }
        // Limits first, then retry: a request waiting out its backoff or for its bandwidth holds no connection slot,
        // and retried bytes count against the bandwidth limit.
        return new StorageHandle(store.WithConcurrencyLimit(connections).WithBandwidthLimit(bandwidth).WithRetries(Retries()), s3, emulation, clock, view);
    }

    /// <summary>
    /// DEDUP_S3_RETRIES overrides how many times a failing request is tried in all (default 6, about 15 s of backoff);
    /// tests and scripts that would rather fail fast set it low.
    /// </summary>
    private static RetryPolicy Retries()
    {
        var text = Environment.GetEnvironmentVariable("DEDUP_S3_RETRIES");
        if (string.IsNullOrEmpty(text)) return RetryPolicy.Default;
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1 || n > 100)
            throw new UsageException($"DEDUP_S3_RETRIES takes a whole number from 1 to 100, not '{text}'");
        return RetryPolicy.Default with { MaxAttempts = n };
    }
}
