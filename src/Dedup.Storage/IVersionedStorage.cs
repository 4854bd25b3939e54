namespace Dedup.Storage;

/// <summary>
/// One version of a named object in a versioned store (an S3 bucket with versioning): its bytes' size and the time
/// the store recorded it, or a delete marker (a version that says "absent from here on").
/// </summary>
public readonly record struct StoredVersion(string Name, string VersionId, bool IsDeleteMarker, bool IsLatest, long Size, DateTimeOffset LastModified);

/// <summary>
/// A store that keeps every version of every object: what reading "as of a time" and rolling back need. Two
/// implementations: S3 buckets with versioning, and the in-memory emulation the tests use (Dedup.TestKit).
/// </summary>
public interface IVersionedStorage
{
    /// <summary>A human-readable location for messages; never holds secrets.</summary>
    string Location { get; }

    /// <summary>
    /// Every version of every object whose name starts with <paramref name="prefix"/>, streaming: names in ordinal
    /// order, and within a name newest first (the store's order, which also orders versions of the same time).
    /// </summary>
    IAsyncEnumerable<StoredVersion> ListVersionsAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Reads one version, as <see cref="IStorage.OpenReadAsync"/> reads the current one.</summary>
    Task<Stream> OpenReadVersionAsync(string name, string versionId, long offset = 0, long length = -1, CancellationToken cancellationToken = default);

    /// <summary>Makes a copy of an old version the current one (a new version on top; the store copies, nothing is downloaded).</summary>
    Task CopyVersionToCurrentAsync(string name, string versionId, CancellationToken cancellationToken = default);

    /// <summary>Removes one version for good (used only to remove delete markers, which makes the version below them current again).</summary>
    Task DeleteVersionAsync(string name, string versionId, CancellationToken cancellationToken = default);

    /// <summary>Hides the current version behind a delete marker; the versions stay, so this is itself undoable.</summary>
    Task AddDeleteMarkerAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>Which version a reader "as of a time" sees: the rule is in one place, for the view, the rollback and the tests.</summary>
public static class VersionsAsOf
{
    /// <summary>
    /// Of one name's versions, newest first, the one that was current at <paramref name="moment"/>: the newest whose
    /// LastModified is at or before it. Null when there was none, or when that version is a delete marker (absent then).
    /// </summary>
    public static StoredVersion? CurrentAt(IEnumerable<StoredVersion> newestFirst, DateTimeOffset moment)
    {
        foreach (var v in newestFirst)
            if (v.LastModified <= moment) return v.IsDeleteMarker ? null : v;
        return null;
    }

    /// <summary>Groups a name-ordered, newest-first listing into one list per name, streaming: one name's versions in memory at a time.</summary>
    public static async IAsyncEnumerable<List<StoredVersion>> ByName(IAsyncEnumerable<StoredVersion> listing)
    {
        List<StoredVersion>? group = null;
        await foreach (var v in listing.ConfigureAwait(false))
        {
            if (group is not null && group[0].Name != v.Name)
            {
                yield return group;
                group = null;
            }
            (group ??= []).Add(v);
        }
        if (group is not null) yield return group;
    }
}
