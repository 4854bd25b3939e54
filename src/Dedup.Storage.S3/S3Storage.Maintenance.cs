using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Dedup.Storage.S3;

/// <summary>Multipart uploads, their cleanup, and bucket-level questions.</summary>
public sealed partial class S3Storage
{
    private async Task<PutOutcome> PutMultipartAsync(string name, string key, ReadOnlyMemory<byte> data, PutHint hint, CancellationToken cancellationToken)
    {
        // CompleteMultipartUpload ignores If-None-Match on RGW, so check first. A race with another
        // writer can still overwrite; names are content hashes, so the bytes would be the same. Credentials that may
        // only put (put-only hosts) cannot ask: they upload, and the name being the content hash makes that harmless.
        try
        {
            if (await StatAsync(name, cancellationToken).ConfigureAwait(false) is not null)
                return PutOutcome.AlreadyExists;
        }
        catch (StorageAccessDeniedException)
        {
        }
        var initiate = new InitiateMultipartUploadRequest
        {
            BucketName = _location.Bucket,
            Key = key,
            CannedACL = S3CannedACL.BucketOwnerFullControl,
        };
        if (StorageClassFor(hint) is { } storageClass)
            initiate.StorageClass = storageClass;
        string uploadId;
        try
        {
            uploadId = (await ResendUnparsedAsync(() => _client.InitiateMultipartUploadAsync(initiate, cancellationToken)).ConfigureAwait(false)).UploadId;
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "put", key, cancellationToken);
        }
        try
        {
            var parts = new List<PartETag>();
            for (int offset = 0, number = 1; offset < data.Length; offset += _options.PartSize, number++)
            {
                var part = data.Slice(offset, Math.Min(_options.PartSize, data.Length - offset));
                var response = await ResendUnparsedAsync(() => _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _location.Bucket,
                    Key = key,
                    UploadId = uploadId,
                    PartNumber = number,
                    InputStream = AsStream(part),
                    PartSize = part.Length,
                    MD5Digest = Md5Base64(part.Span),
                }, cancellationToken)).ConfigureAwait(false);
                parts.Add(new PartETag(number, response.ETag));
            }
            await ResendUnparsedAsync(() => _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _location.Bucket,
                Key = key,
                UploadId = uploadId,
                PartETags = parts,
                // Honoured by AWS S3, ignored by RGW (hence the Stat above).
                IfNoneMatch = "*",
            }, cancellationToken)).ConfigureAwait(false);
            return PutOutcome.Created;
        }
        catch (AmazonS3Exception e) when (IsPreconditionFailed(e))
        {
            await AbortQuietlyAsync(key, uploadId).ConfigureAwait(false);
            return PutOutcome.AlreadyExists;
        }
        catch (Exception e)
        {
            // Parts left behind cost storage until AbortIncompleteUploadsAsync; try to clean up now.
            await AbortQuietlyAsync(key, uploadId).ConfigureAwait(false);
            throw S3Errors.Map(e, _location, "put", key, cancellationToken);
        }
    }

    private async Task AbortQuietlyAsync(string key, string uploadId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest
            {
                BucketName = _location.Bucket,
                Key = key,
                UploadId = uploadId,
            }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException or OperationCanceledException)
        {
            // Best effort: AbortIncompleteUploadsAsync removes it later (a client user may lack the right anyway).
        }
    }

    public async Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default)
    {
        var cutoff = _time.GetUtcNow() - olderThan;
        var request = new ListMultipartUploadsRequest { BucketName = _location.Bucket, Prefix = _location.KeyPrefix };
        var aborted = 0;
        try
        {
            while (true)
            {
                var page = await _client.ListMultipartUploadsAsync(request, cancellationToken).ConfigureAwait(false);
                foreach (var upload in page.MultipartUploads ?? [])
                {
                    if (upload.Initiated is not { } initiated || new DateTimeOffset(initiated.ToUniversalTime()) >= cutoff)
                        continue;
                    try
                    {
                        await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest
                        {
                            BucketName = _location.Bucket,
                            Key = upload.Key,
                            UploadId = upload.UploadId,
                        }, cancellationToken).ConfigureAwait(false);
                        aborted++;
                    }
                    catch (AmazonS3Exception e) when (S3Errors.IsCode(e, "NoSuchUpload"))
                    {
                        // Completed or aborted by someone else meanwhile.
                    }
                }
                if (page.IsTruncated != true)
                    return aborted;
                request.KeyMarker = page.NextKeyMarker;
                request.UploadIdMarker = page.NextUploadIdMarker;
            }
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "abort-uploads", _location.KeyPrefix, cancellationToken);
        }
    }

    /// <summary>Whether the bucket exists. Throws <see cref="StorageAccessDeniedException"/> if we may not even ask.</summary>
    public async Task<bool> BucketExistsAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _client.HeadBucketAsync(new HeadBucketRequest { BucketName = _location.Bucket }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "bucket", "", cancellationToken);
        }
    }

    /// <summary>Reports versioning and Object Lock; settings our credentials may not read come back Unknown.</summary>
    public async Task<BucketProtection> GetProtectionAsync(CancellationToken cancellationToken = default)
    {
        var versioning = VersioningState.Unknown;
        var objectLock = ObjectLockState.Unknown;
        try
        {
            var response = await _client.GetBucketVersioningAsync(
                new GetBucketVersioningRequest { BucketName = _location.Bucket }, cancellationToken).ConfigureAwait(false);
            var status = response.VersioningConfig?.Status;
            versioning = status == VersionStatus.Enabled ? VersioningState.Enabled
                : status == VersionStatus.Suspended ? VersioningState.Suspended
                : VersioningState.Off; // A bucket never versioned reports no status.
        }
        catch (AmazonS3Exception e) when (IsDenied(e))
        {
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "bucket", "", cancellationToken);
        }
        try
        {
            var response = await _client.GetObjectLockConfigurationAsync(
                new GetObjectLockConfigurationRequest { BucketName = _location.Bucket }, cancellationToken).ConfigureAwait(false);
            objectLock = response.ObjectLockConfiguration?.ObjectLockEnabled == ObjectLockEnabled.Enabled
                ? ObjectLockState.Enabled
                : ObjectLockState.Off;
        }
        catch (AmazonS3Exception e) when (S3Errors.IsCode(e, "ObjectLockConfigurationNotFoundError"))
        {
            objectLock = ObjectLockState.Off;
        }
        catch (AmazonS3Exception e) when (IsDenied(e))
        {
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "bucket", "", cancellationToken);
        }
        return new BucketProtection(versioning, objectLock);
    }

    private static bool IsDenied(AmazonS3Exception e) =>
        e.StatusCode == HttpStatusCode.Forbidden && !S3Errors.IsCode(e, "SignatureDoesNotMatch") && !S3Errors.IsCode(e, "InvalidAccessKeyId");
}
