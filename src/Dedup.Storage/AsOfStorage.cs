using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Dedup.Storage;

/// <summary>Something tried to write through a read-only view (reading as of a past time).</summary>
public sealed class ReadOnlyStorageException(string message) : StorageException(message);

/// <summary>
/// A versioned store as it was at <see cref="Moment"/>: each name resolves to its newest version recorded at or before
/// that moment, and is absent if that version is a delete marker or there is none (spec/versioned-recovery.md). Read
/// only: it never writes, so reading the past leaves no trace in the bucket. <see cref="StoredObject.LastModified"/> is
/// the chosen version's, so selection by storage time (the trust model) sees the times of then.
/// </summary>
/// <remarks>
/// Listing streams the store's version listing one name at a time, so memory does not grow with the repository. A
/// read or stat needs the version ID: names a listing saw are remembered (up to <see cref="MaxRemembered"/>, a bound,
/// not a cache of the whole repository), any other costs one version listing of that exact name.
/// </remarks>
public sealed class AsOfStorage(IVersionedStorage source, DateTimeOffset moment) : IMaintenanceStorage
{
    /// <summary>How many resolved names are kept (about 300 bytes each); beyond it a read lists that one name's versions.</summary>
    public const int MaxRemembered = 50_000;

    private readonly ConcurrentDictionary<string, StoredVersion?> _resolved = new(StringComparer.Ordinal);

    public DateTimeOffset Moment { get; } = moment;

    /// <summary>The same location as the store's: caches and key hints keyed by it stay the repository's.</summary>
    public string Location => source.Location;

    /// <summary>Version listings of one name made to resolve a read (diagnostics; tests check the remembered names spare them).</summary>
    public long SingleNameListings => Interlocked.Read(ref _singleNameListings);

    private long _singleNameListings;

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        throw ReadOnly("write", name);

    public Task DeleteAsync(string name, CancellationToken cancellationToken = default) => throw ReadOnly("delete", name);

    public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
        throw ReadOnly("clean up uploads under", "");

    public async Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        var version = await ResolveAsync(name, cancellationToken).ConfigureAwait(false)
                      ?? throw new ObjectNotFoundException($"{Location}: '{name}' did not exist as of {Describe(Moment)}.");
        return await source.OpenReadVersionAsync(name, version.VersionId, offset, length, cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        return await ResolveAsync(name, cancellationToken).ConfigureAwait(false) is { } v ? new StoredObject(name, v.Size, v.LastModified) : null;
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        StorageNames.ValidatePrefix(prefix);
        await foreach (var versions in VersionsAsOf.ByName(source.ListVersionsAsync(prefix, cancellationToken)).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var current = VersionsAsOf.CurrentAt(versions, Moment);
            Remember(versions[0].Name, current);
            if (current is { } v) yield return new StoredObject(v.Name, v.Size, v.LastModified);
        }
    }

    /// <summary>
    /// When <paramref name="name"/> first existed (its oldest version that is not a delete marker), at any time, and
    /// whether it exists at <see cref="Moment"/>: for saying why a read as of a time finds nothing.
    /// </summary>
    public async Task<DateTimeOffset?> FirstWrittenAsync(string name, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        DateTimeOffset? first = null;
        await foreach (var v in source.ListVersionsAsync(name, cancellationToken).ConfigureAwait(false))
        {
            if (v.Name != name) break;
            if (!v.IsDeleteMarker && (first is null || v.LastModified < first)) first = v.LastModified;
        }
        return first;
    }

    private async ValueTask<StoredVersion?> ResolveAsync(string name, CancellationToken cancellationToken)
    {
        if (_resolved.TryGetValue(name, out var known)) return known;
        Interlocked.Increment(ref _singleNameListings);
        // Listing with the name as prefix gives the name itself first (ordinal order), then longer names: stop there.
        var versions = new List<StoredVersion>();
        await foreach (var v in source.ListVersionsAsync(name, cancellationToken).ConfigureAwait(false))
        {
            if (v.Name != name) break;
            versions.Add(v);
        }
        var current = VersionsAsOf.CurrentAt(versions, Moment);
        Remember(name, current);
        return current;
    }

    private void Remember(string name, StoredVersion? version)
    {
        if (_resolved.Count < MaxRemembered) _resolved[name] = version;
    }

    private ReadOnlyStorageException ReadOnly(string what, string name) =>
        new($"{Location} is open read-only, as it was at {Describe(Moment)}: cannot {what} '{name}'. Run it without reading as of a time.");

    public static string Describe(DateTimeOffset moment) => moment.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
