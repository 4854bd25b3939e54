using System.Net;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;

namespace Dedup.Storage.S3;

/// <summary>
/// What S3 lets the credentials do to an existing object by routes other than a put. A server that refuses a second
/// create-only put may still accept these — Ceph RGW completes a multipart upload over an existing object even with
/// If-None-Match, on any bucket, and copies an object onto itself (which moves its storage time to now) — so checking
/// the put alone gives false comfort.
/// </summary>
/// <param name="MultipartReplace">Completing a multipart upload, with If-None-Match: *, over the canary.</param>
/// <param name="MultipartTookEffect">The canary then held the upload's bytes (null when it could not be read).</param>
/// <param name="CopyOntoItself">Copying the canary onto itself, with If-None-Match: * and replaced metadata.</param>
public sealed record OverwriteRoutes(Capability MultipartReplace, bool? MultipartTookEffect, Capability CopyOntoItself)
{
    /// <summary>Some route replaced or re-dated an existing object.</summary>
    public bool AnyAccepted => MultipartReplace == Capability.Allowed || CopyOntoItself == Capability.Allowed;
}

public sealed partial class S3Storage
{
    /// <summary>
    /// Stores a canary of its own under <paramref name="prefix"/> and tries to replace it by a multipart upload and to
    /// copy it onto itself, each with the create-only condition a correct server enforces. Deletes the canary where the
    /// credentials may (the caller's prefix is one whose readers ignore what they cannot open, as for the put probe).
    /// </summary>
    public async Task<OverwriteRoutes> ProbeOverwriteRoutesAsync(string prefix, CancellationToken ct = default)
    {
        var first = RandomNumberGenerator.GetBytes(48);
        var second = RandomNumberGenerator.GetBytes(48);
        var name = prefix + Convert.ToHexStringLower(SHA256.HashData(first));
        try
        {
            if (await PutAsync(name, first, ct).ConfigureAwait(false) != PutOutcome.Created)
                return new OverwriteRoutes(Capability.NotTried, null, Capability.NotTried);
        }
        catch (StorageAccessDeniedException)
        {
            return new OverwriteRoutes(Capability.NotTried, null, Capability.NotTried);
        }
        var key = _location.KeyOf(name);

        var multipart = await TryRouteAsync(() => ReplaceByMultipartAsync(key, second, ct)).ConfigureAwait(false);
        bool? tookEffect = multipart == Capability.Allowed ? await HoldsAsync(name, second, ct).ConfigureAwait(false) : false;

        var copy = await TryRouteAsync(() => _client.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = _location.Bucket,
            SourceKey = key,
            DestinationBucket = _location.Bucket,
            DestinationKey = key,
            IfNoneMatch = "*",
            MetadataDirective = S3MetadataDirective.REPLACE,
            CannedACL = S3CannedACL.BucketOwnerFullControl,
        }, ct)).ConfigureAwait(false);

        try
        {
            await DeleteAsync(name, ct).ConfigureAwait(false);
        }
        catch (StorageAccessDeniedException)
        {
            // Credentials that cannot delete leave the canary, as the put probe does.
        }
        return new OverwriteRoutes(multipart, tookEffect, copy);
    }

    private async Task ReplaceByMultipartAsync(string key, byte[] data, CancellationToken ct)
    {
        var upload = await _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = _location.Bucket,
            Key = key,
            CannedACL = S3CannedACL.BucketOwnerFullControl,
        }, ct).ConfigureAwait(false);
        try
        {
            using var body = new MemoryStream(data, writable: false);
            var part = await _client.UploadPartAsync(new UploadPartRequest
            {
                BucketName = _location.Bucket,
                Key = key,
                UploadId = upload.UploadId,
                PartNumber = 1,
                InputStream = body,
            }, ct).ConfigureAwait(false);
            await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _location.Bucket,
                Key = key,
                UploadId = upload.UploadId,
                IfNoneMatch = "*",
                PartETags = [new PartETag(1, part.ETag)],
            }, ct).ConfigureAwait(false);
        }
        catch
        {
            try
            {
                await _client.AbortMultipartUploadAsync(_location.Bucket, key, upload.UploadId, CancellationToken.None).ConfigureAwait(false);
            }
            catch (AmazonS3Exception)
            {
                // Credentials without abort leave it for the admin's prune, which aborts stale uploads.
            }
            throw;
        }
    }

    /// <summary>Allowed when the server accepted the request; Denied on 403 or 412 (the create-only condition held).</summary>
    private async Task<Capability> TryRouteAsync(Func<Task> route)
    {
        try
        {
            await route().ConfigureAwait(false);
            return Capability.Allowed;
        }
        catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict
                                          || IsPreconditionFailed(e))
        {
            return Capability.Denied;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw S3Errors.Map(e, _location, "probe", _location.Bucket, CancellationToken.None);
        }
    }

    private async Task<bool?> HoldsAsync(string name, byte[] expected, CancellationToken ct)
    {
        try
        {
            await using var s = await OpenReadAsync(name, 0, 4096, ct).ConfigureAwait(false);
            using var copy = new MemoryStream();
            await s.CopyToAsync(copy, ct).ConfigureAwait(false);
            return copy.ToArray().AsSpan().SequenceEqual(expected);
        }
        catch (StorageAccessDeniedException)
        {
            return null;
        }
    }
}
