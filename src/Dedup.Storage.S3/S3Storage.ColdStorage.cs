using System.Runtime.CompilerServices;
using Amazon.S3;
using Amazon.S3.Model;

namespace Dedup.Storage.S3;

/// <summary>
/// Archive classes (GLACIER, DEEP_ARCHIVE): state from HEAD (x-amz-storage-class, x-amz-restore), retrieval by
/// RestoreObject. Reads of an archived object fail with 403 InvalidObjectState, mapped to ObjectArchivedException.
/// </summary>
public sealed partial class S3Storage : IArchiveStorage
{
    public async Task<ArchiveState> GetArchiveStateAsync(string name, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        var key = _location.KeyOf(name);
        GetObjectMetadataResponse head;
        try
        {
            head = await ResendUnparsedAsync(() => _client.GetObjectMetadataAsync(
                new GetObjectMetadataRequest { BucketName = _location.Bucket, Key = key }, cancellationToken)).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            throw new ObjectNotFoundException($"{Location}: '{key}' does not exist.", e);
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "stat", key, cancellationToken);
        }
        var storageClass = ClassName(head.StorageClass);
        var size = head.ContentLength;
        if (!StorageClasses.IsArchive(storageClass)) return new ArchiveState(ArchiveStatus.Hot, storageClass, size);
        // x-amz-restore: ongoing-request="true" while retrieving; ongoing-request="false", expiry-date="…" once readable.
        if (head.RestoreInProgress == true) return new ArchiveState(ArchiveStatus.Restoring, storageClass, size);
        if (head.RestoreExpiration is { } until) return new ArchiveState(ArchiveStatus.Restored, storageClass, size, ToUtc(until));
        return new ArchiveState(ArchiveStatus.Archived, storageClass, size);
    }

    public async Task RequestRestoreAsync(string name, RetrievalTier tier, int days, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        var key = _location.KeyOf(name);
        try
        {
            await ResendUnparsedAsync(() => _client.RestoreObjectAsync(new RestoreObjectRequest
            {
                BucketName = _location.Bucket,
                Key = key,
                Days = days,
                Tier = tier switch
                {
                    RetrievalTier.Expedited => GlacierJobTier.Expedited,
                    RetrievalTier.Bulk => GlacierJobTier.Bulk,
                    _ => GlacierJobTier.Standard,
                },
            }, cancellationToken)).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (S3Errors.IsCode(e, "RestoreAlreadyInProgress"))
        {
            // 409: asked before; the retrieval runs. Requests are idempotent by design (a re-run after a kill asks again).
        }
        catch (AmazonS3Exception e) when (S3Errors.IsCode(e, "InvalidObjectState"))
        {
            // 403 on RestoreObject: the object is not in an archive class (a lifecycle rule may not have moved it yet). Readable.
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "restore-request", key, cancellationToken);
        }
    }

    public async IAsyncEnumerable<(StoredObject Object, string StorageClass)> ListNonDefaultClassAsync(
        string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var (name, o) in ListObjectsAsync(prefix, cancellationToken).ConfigureAwait(false))
            if (ClassName(o.StorageClass) is { } c && c != "STANDARD")
                yield return (new StoredObject(name, o.Size ?? 0, ToUtc(o.LastModified)), c);
    }

    /// <summary>S3 omits the header for STANDARD; null and "" both mean the default class.</summary>
    private static string? ClassName(S3StorageClass? storageClass) =>
        storageClass?.Value is { Length: > 0 } value ? value : null;
}
