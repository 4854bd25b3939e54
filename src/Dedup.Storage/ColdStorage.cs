namespace Dedup.Storage;

/// <summary>
/// What a caller knows about how an object will be used, passed with a put. The store decides what it means (S3: the
/// storage class chosen for rarely read objects); stores without classes ignore it. Wrappers pass it through.
/// </summary>
public enum PutHint
{
    None,
    /// <summary>Read rarely and in bulk (e.g. only by a restore): may go to a cheaper, possibly archive, storage class.</summary>
    RarelyRead,
}

/// <summary>Whether an object can be read now, for stores with archive classes (S3 GLACIER, DEEP_ARCHIVE).</summary>
public enum ArchiveStatus
{
    /// <summary>Readable: not in an archive class (STANDARD, STANDARD_IA, GLACIER_IR...).</summary>
    Hot,
    /// <summary>In an archive class, no retrieval requested: reads fail with <see cref="ObjectArchivedException"/>.</summary>
    Archived,
    /// <summary>A retrieval was requested and has not finished.</summary>
    Restoring,
    /// <summary>A temporary copy is readable until <see cref="ArchiveState.RestoredUntil"/>.</summary>
    Restored,
}

/// <param name="StorageClass">The class the store reports, e.g. "GLACIER"; null when it reports none (the default class).</param>
/// <param name="Size">The object's size in bytes (what a retrieval of it is charged for).</param>
/// <param name="RestoredUntil">For <see cref="ArchiveStatus.Restored"/>: when the temporary copy goes away.</param>
public sealed record ArchiveState(ArchiveStatus Status, string? StorageClass, long Size, DateTimeOffset? RestoredUntil = null)
{
    public bool Readable => Status is ArchiveStatus.Hot or ArchiveStatus.Restored;
}

/// <summary>How fast (and how dearly) a retrieval runs; S3's tiers.</summary>
public enum RetrievalTier
{
    Expedited,
    Standard,
    Bulk,
}

/// <summary>
/// An optional capability of stores with archive classes: ask an object's state and request its retrieval. It knows
/// nothing of repositories; callers decide which objects they need.
/// </summary>
public interface IArchiveStorage
{
    /// <summary>The object's archive state; throws <see cref="ObjectNotFoundException"/> when it does not exist.</summary>
    Task<ArchiveState> GetArchiveStateAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Requests a temporary readable copy for <paramref name="days"/> days. Idempotent: a retrieval already in progress
    /// is success, and a request for a restored object extends its copy. Objects not in an archive class are left alone.
    /// </summary>
    Task RequestRestoreAsync(string name, RetrievalTier tier, int days, CancellationToken cancellationToken = default);

    /// <summary>Objects under <paramref name="prefix"/> stored in a class other than the default (one listing), with that class.</summary>
    IAsyncEnumerable<(StoredObject Object, string StorageClass)> ListNonDefaultClassAsync(string prefix, CancellationToken cancellationToken = default);
}

/// <summary>
/// The object is in an archive class and has no readable copy (S3: 403 InvalidObjectState). Permanent until a
/// retrieval is requested and finishes; the CLI adds which command does that.
/// </summary>
public sealed class ObjectArchivedException(string message, string name, string? storageClass, Exception? inner = null) : StorageException(message, inner)
{
    /// <summary>The object's name in the store.</summary>
    public string Name { get; } = name;

    public string? StorageClass { get; } = storageClass;
}

/// <summary>Storage classes by their properties (AWS S3's; other servers use the same names).</summary>
public static class StorageClasses
{
    /// <summary>Classes whose objects must be retrieved before they can be read.</summary>
    public static bool IsArchive(string? storageClass) => storageClass is "GLACIER" or "DEEP_ARCHIVE";

    /// <summary>
    /// The minimum storage duration AWS charges for: deleting earlier costs the rest of it anyway.
    /// GLACIER (Flexible Retrieval) 90 days, DEEP_ARCHIVE 180, STANDARD_IA, ONEZONE_IA and GLACIER_IR 30.
    /// </summary>
    public static TimeSpan MinimumStorageDuration(string? storageClass) => storageClass switch
    {
        "GLACIER" => TimeSpan.FromDays(90),
        "DEEP_ARCHIVE" => TimeSpan.FromDays(180),
        "STANDARD_IA" or "ONEZONE_IA" or "GLACIER_IR" => TimeSpan.FromDays(30),
        _ => TimeSpan.Zero,
    };
}
