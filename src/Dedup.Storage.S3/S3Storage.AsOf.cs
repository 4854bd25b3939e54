using System.Runtime.CompilerServices;

namespace Dedup.Storage.S3;

/// <summary>The bucket's versions as <see cref="IVersionedStorage"/>: reading as of a time and rolling back (spec/versioned-recovery.md).</summary>
public sealed partial class S3Storage : IVersionedStorage
{
    async IAsyncEnumerable<StoredVersion> IVersionedStorage.ListVersionsAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var v in ListVersionsAsync(prefix, cancellationToken).ConfigureAwait(false))
            yield return new StoredVersion(v.Name, v.VersionId, v.IsDeleteMarker, v.IsLatest, v.Size, v.LastModified);
    }

    Task<Stream> IVersionedStorage.OpenReadVersionAsync(string name, string versionId, long offset, long length, CancellationToken cancellationToken) =>
        OpenReadVersionAsync(name, versionId, offset, length, cancellationToken);

    Task IVersionedStorage.CopyVersionToCurrentAsync(string name, string versionId, CancellationToken cancellationToken) =>
        CopyVersionToCurrentAsync(name, versionId, cancellationToken);

    Task IVersionedStorage.DeleteVersionAsync(string name, string versionId, CancellationToken cancellationToken) =>
        DeleteVersionAsync(name, versionId, bypassGovernance: false, cancellationToken);

    /// <summary>On a versioned bucket a plain delete only adds a delete marker.</summary>
    Task IVersionedStorage.AddDeleteMarkerAsync(string name, CancellationToken cancellationToken) => DeleteAsync(name, cancellationToken);
}
