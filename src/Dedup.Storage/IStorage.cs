namespace Dedup.Storage;

/// <summary>
/// A flat store of named, immutable objects: a local folder or an S3 bucket prefix.
/// It knows nothing of repositories. Names are relative paths with '/' separators
/// ("config", "keys/ab12…", "data/ab/ab12…").
/// </summary>
/// <remarks>
/// Guarantees every implementation gives (checked by the conformance suite):
/// <list type="bullet">
/// <item>Create-only: <see cref="PutAsync"/> never replaces an existing object. It returns
/// <see cref="PutOutcome.AlreadyExists"/> instead, where the store can tell. Some S3 servers
/// cannot tell (versioned buckets ignore If-None-Match), so callers must never rely on this
/// alone: names are content hashes and readers verify them.</item>
/// <item>Atomic visibility: an object is either absent or complete. A crash mid-upload never
/// leaves a partial object under its final name.</item>
/// <item>Read-after-write: once PutAsync returns, reads, stats and listings see the object.</item>
/// </list>
/// This interface cannot delete. Only maintenance code gets an <see cref="IMaintenanceStorage"/>.
/// </remarks>
public interface IStorage
{
    /// <summary>A human-readable location for messages, e.g. "/srv/repo" or "s3:bucket/prefix". Never holds secrets.</summary>
    string Location { get; }

    /// <summary>Creates the object with exactly these bytes, unless an object of that name exists.</summary>
    Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="PutAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/> with what the caller knows of the object's
    /// use (<see cref="PutHint"/>). Stores without storage classes ignore the hint; wrappers must pass it through.
    /// </summary>
    Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, PutHint hint, CancellationToken cancellationToken = default) =>
        PutAsync(name, data, cancellationToken);

    /// <summary>
    /// Opens the object for streaming reads, from <paramref name="offset"/> for <paramref name="length"/>
    /// bytes (-1: to the end). Throws <see cref="ObjectNotFoundException"/> when it does not exist.
    /// The stream may end early if the object is shorter than asked; callers check lengths.
    /// </summary>
    Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default);

    /// <summary>The object's size and the time the store recorded for it, or null when it does not exist.</summary>
    Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Lists objects whose names start with <paramref name="prefix"/> (e.g. "index/"), streaming, in no particular order.</summary>
    IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default);
}

/// <summary>A store that can also delete. Handed only to maintenance operations (forget, prune, key remove).</summary>
public interface IMaintenanceStorage : IStorage
{
    /// <summary>Deletes the object. Deleting an absent object is not an error.</summary>
    Task DeleteAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Aborts uploads that were started but never completed (S3 multipart) and are older than <paramref name="olderThan"/>. Returns how many.</summary>
    Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default);
}

public enum PutOutcome
{
    Created,
    /// <summary>An object of that name was already there; nothing was written.</summary>
    AlreadyExists,
}

/// <param name="Name">The object's name relative to the store root.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="LastModified">The time the store recorded (S3 LastModified, file mtime locally). Used to distrust client clocks.</param>
public readonly record struct StoredObject(string Name, long Size, DateTimeOffset LastModified);
