using System.Net;
using System.Runtime.CompilerServices;
using Amazon.S3;
using Amazon.S3.Model;

namespace Dedup.Storage.S3;

/// <summary>
/// One version of an object in a versioned bucket, or a delete marker.
/// </summary>
/// <param name="Name">The object's name relative to the store root.</param>
/// <param name="VersionId">The server's version ID ("null" for a version written before versioning was enabled).</param>
/// <param name="IsDeleteMarker">A delete marker: the name was deleted at <paramref name="LastModified"/>; it has no bytes.</param>
/// <param name="IsLatest">The current version (or current delete marker) of the name.</param>
/// <param name="Size">Bytes of the version; 0 for a delete marker.</param>
/// <param name="LastModified">When the server stored this version (or marker).</param>
/// <param name="StorageClass">The version's storage class as the server reports it; null for delete markers.</param>
public sealed record ObjectVersion(string Name, string VersionId, bool IsDeleteMarker, bool IsLatest, long Size,
    DateTimeOffset LastModified, string? StorageClass);

/// <summary>
/// Object versions: what versioned and Object Lock buckets keep after overwrites and deletes. These are the primitives
/// of recovery (reading the repository as of a past time), of rollback, and of deletes that really free space on a
/// versioned bucket. They are on <see cref="S3Storage"/> itself, not on <see cref="IStorage"/>: a local folder has no versions.
/// </summary>
public sealed partial class S3Storage
{
    /// <summary>
    /// Every version and delete marker whose name starts with <paramref name="prefix"/>, streaming, in key order and
    /// newest first within a key (the order S3 lists them in).
    /// </summary>
    public async IAsyncEnumerable<ObjectVersion> ListVersionsAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        StorageNames.ValidatePrefix(prefix);
        var keyPrefix = _location.KeyPrefix;
        var request = new ListVersionsRequest
        {
            BucketName = _location.Bucket,
            Prefix = keyPrefix + prefix,
            MaxKeys = _options.ListPageSize,
        };
        while (true)
        {
            ListVersionsResponse page;
            try
            {
                page = await ResendUnparsedAsync(() => _client.ListVersionsAsync(request, cancellationToken)).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, _location, "list versions", request.Prefix, cancellationToken);
            }
            // S3 returns versions and delete markers interleaved in key order, newest first; SDK 4 leaves empty lists null.
            foreach (var v in page.Versions ?? [])
            {
                if (v.Key is null || !v.Key.StartsWith(keyPrefix, StringComparison.Ordinal) || v.Key.EndsWith('/'))
                    continue;
                var isMarker = v.IsDeleteMarker == true;
                yield return new ObjectVersion(v.Key[keyPrefix.Length..], v.VersionId ?? "null", isMarker, v.IsLatest == true,
                    isMarker ? 0 : v.Size ?? 0, ToUtc(v.LastModified), isMarker ? null : v.StorageClass?.Value);
            }
            if (page.IsTruncated != true)
                yield break;
            request.KeyMarker = page.NextKeyMarker;
            request.VersionIdMarker = page.NextVersionIdMarker;
        }
    }

    /// <summary>
    /// Opens one version for streaming reads, as <see cref="OpenReadAsync"/> does the current one. A delete marker's
    /// version ID, or one that does not exist, is <see cref="ObjectNotFoundException"/>.
    /// </summary>
    public async Task<Stream> OpenReadVersionAsync(string name, string versionId, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        ArgumentException.ThrowIfNullOrEmpty(versionId);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, -1);
        var key = _location.KeyOf(name);
        if (length == 0)
            return new MemoryStream([], writable: false);
        var request = new GetObjectRequest { BucketName = _location.Bucket, Key = key, VersionId = versionId };
        if (length > 0)
            request.ByteRange = new ByteRange(offset, offset + length - 1);
        else if (offset > 0)
            request.ByteRange = new ByteRange($"bytes={offset}-");
        try
        {
            var response = await ResendUnparsedAsync(() => _client.GetObjectAsync(request, cancellationToken)).ConfigureAwait(false);
            return new S3ReadStream(response, _location, key);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return new MemoryStream([], writable: false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.MethodNotAllowed || S3Errors.IsCode(e, "NoSuchVersion"))
        {
            // GET of a delete marker's version ID answers 405 MethodNotAllowed.
            throw new ObjectNotFoundException($"{Location}: '{key}' has no readable version '{versionId}'.", e);
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "read", key, cancellationToken);
        }
    }

    /// <summary>
    /// Removes one version (or delete marker) for good. Object Lock refuses a version under retention (access denied);
    /// <paramref name="bypassGovernance"/> lifts GOVERNANCE-mode retention for callers granted s3:BypassGovernanceRetention,
    /// never COMPLIANCE. Removing a version that no longer exists is not an error.
    /// </summary>
    public async Task DeleteVersionAsync(string name, string versionId, bool bypassGovernance = false, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        ArgumentException.ThrowIfNullOrEmpty(versionId);
        var key = _location.KeyOf(name);
        var request = new DeleteObjectRequest { BucketName = _location.Bucket, Key = key, VersionId = versionId };
        if (bypassGovernance)
            request.BypassGovernanceRetention = true;
        try
        {
            await ResendUnparsedAsync(() => _client.DeleteObjectAsync(request, cancellationToken)).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (S3Errors.IsCode(e, "NoSuchKey") || S3Errors.IsCode(e, "NoSuchVersion"))
        {
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "delete version", key, cancellationToken);
        }
    }

    /// <summary>
    /// Makes an old version current again by a server-side copy onto the same name (a new version with the same bytes);
    /// the versions in between stay. No bytes pass through this machine.
    /// </summary>
    public async Task CopyVersionToCurrentAsync(string name, string versionId, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        ArgumentException.ThrowIfNullOrEmpty(versionId);
        var key = _location.KeyOf(name);
        var request = new CopyObjectRequest
        {
            SourceBucket = _location.Bucket,
            SourceKey = key,
            SourceVersionId = versionId,
            DestinationBucket = _location.Bucket,
            DestinationKey = key,
            CannedACL = S3CannedACL.BucketOwnerFullControl,
        };
        // No storage class: the copy gets the bucket's default. Whether the object is a data pack (which may go cold) is
        // known only to callers that put with PutHint.RarelyRead, and a hot copy is always readable.
        try
        {
            await ResendUnparsedAsync(() => _client.CopyObjectAsync(request, cancellationToken)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "copy version", key, cancellationToken);
        }
    }
}
