using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Dedup.Storage.S3;

/// <summary>
/// A bucket prefix as an object store. Create-only puts use If-None-Match: * (412 → AlreadyExists),
/// but versioned buckets on RGW ignore that header, so callers still verify content on read.
/// </summary>
public sealed partial class S3Storage : IMaintenanceStorage, IDisposable
{
    private readonly IAmazonS3 _client;
    private readonly S3Location _location;
    private readonly S3StorageOptions _options;
    private readonly TimeProvider _time;

    /// <param name="credentials">
    /// Null (the normal case) uses the standard AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
    /// AWS_PROFILE, shared config files. Tests pass explicit ones. Never taken from the command line.
    /// </param>
    public S3Storage(S3Location location, S3StorageOptions? options = null, AWSCredentials? credentials = null, TimeProvider? timeProvider = null)
    {
        _location = location ?? throw new ArgumentNullException(nameof(location));
        _options = options ?? new S3StorageOptions();
        _time = timeProvider ?? TimeProvider.System;
        var config = CreateConfig(location, _options);
        try
        {
            _client = credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
        }
        catch (AmazonClientException e)
        {
            // Typically no region: neither the option nor AWS_REGION nor a profile gives one.
            throw new StorageException(
                $"{location}: cannot set up the S3 client; for AWS give a region (AWS_REGION, the profile's region, or the region option).", e);
        }
    }

    public string Location => _location.ToString();

    /// <summary>The SDK settings every client needs; public so tools and tests build identical clients.</summary>
    public static AmazonS3Config CreateConfig(S3Location location, S3StorageOptions options)
    {
        var config = new AmazonS3Config
        {
            // SDK 4 adds CRC checksums by default (with aws-chunked trailers); Ceph RGW rejects those
            // requests with 400 XAmzContentSHA256Mismatch. Send and check checksums only when an API requires them.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxConnectionsPerServer = options.MaxConnections,
            // RetryingStorage owns retries; see S3StorageOptions.SdkMaxErrorRetry.
            MaxErrorRetry = options.SdkMaxErrorRetry,
        };
        if (options.Timeout is { } timeout)
            config.Timeout = timeout;
        if (location.Endpoint is not null)
        {
            config.ServiceURL = location.Endpoint.ToString();
            // Custom endpoints rarely have wildcard DNS/certificates for bucket.host, so address the bucket in the path.
            config.ForcePathStyle = true;
            config.AuthenticationRegion = options.EndpointSigningRegion;
        }
        else if (options.Region is not null)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        return config;
    }

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        PutAsync(name, data, PutHint.None, cancellationToken);

    /// <summary>Objects put with <see cref="PutHint.RarelyRead"/> get <see cref="S3StorageOptions.StorageClass"/>; the rest the bucket's default.</summary>
    public async Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, PutHint hint, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        var key = _location.KeyOf(name);
        if (data.Length >= _options.MultipartThreshold)
            return await PutMultipartAsync(name, key, data, hint, cancellationToken).ConfigureAwait(false);
        var md5 = Md5Base64(data.Span);
        PutObjectRequest Request()
        {
            var request = new PutObjectRequest
            {
                BucketName = _location.Bucket,
                Key = key,
                InputStream = AsStream(data),
                AutoCloseStream = true,
                // Create-only. 412 PreconditionFailed means the name is taken (not on versioned RGW buckets: see class remarks).
                IfNoneMatch = "*",
                // Without it, objects written by a client user are unreadable to the bucket owner (maintenance host).
                CannedACL = S3CannedACL.BucketOwnerFullControl,
                MD5Digest = md5,
            };
            if (StorageClassFor(hint) is { } storageClass)
                request.StorageClass = storageClass;
            return request;
        }
        try
        {
            // A fresh request per send: the body stream is consumed by the first.
            await ResendUnparsedAsync(() => _client.PutObjectAsync(Request(), cancellationToken)).ConfigureAwait(false);
            return PutOutcome.Created;
        }
        catch (AmazonS3Exception e) when (IsPreconditionFailed(e))
        {
            return PutOutcome.AlreadyExists;
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "put", key, cancellationToken);
        }
    }

    public async Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, -1);
        var key = _location.KeyOf(name);
        if (length == 0)
        {
            // S3 ranges cannot say "zero bytes"; still report a missing object.
            _ = await StatAsync(name, cancellationToken).ConfigureAwait(false)
                ?? throw new ObjectNotFoundException($"{Location}: '{key}' does not exist.");
            return new MemoryStream([], writable: false);
        }
        var request = new GetObjectRequest { BucketName = _location.Bucket, Key = key };
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
            // The object exists but is shorter than offset: the contract says the stream just ends early.
            return new MemoryStream([], writable: false);
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "read", key, cancellationToken);
        }
    }

    public async Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        var key = _location.KeyOf(name);
        try
        {
            var response = await ResendUnparsedAsync(() => _client.GetObjectMetadataAsync(
                new GetObjectMetadataRequest { BucketName = _location.Bucket, Key = key }, cancellationToken)).ConfigureAwait(false);
            return new StoredObject(name, response.ContentLength, ToUtc(response.LastModified));
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // HEAD has no body, so a missing bucket looks the same; BucketExistsAsync tells them apart.
            return null;
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "stat", key, cancellationToken);
        }
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var (name, o) in ListObjectsAsync(prefix, cancellationToken).ConfigureAwait(false))
            yield return new StoredObject(name, o.Size ?? 0, ToUtc(o.LastModified));
    }

    /// <summary>
    /// The objects under <paramref name="prefix"/>, page by page, with their names relative to the store root; console
    /// "folder" markers and keys outside the prefix are left out. The listing behind <see cref="ListAsync"/> and others
    /// that need more of each entry (its storage class).
    /// </summary>
    private async IAsyncEnumerable<(string Name, S3Object Entry)> ListObjectsAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        StorageNames.ValidatePrefix(prefix);
        var keyPrefix = _location.KeyPrefix;
        var request = new ListObjectsV2Request
        {
            BucketName = _location.Bucket,
            Prefix = keyPrefix + prefix,
            MaxKeys = _options.ListPageSize,
        };
        while (true)
        {
            ListObjectsV2Response page;
            try
            {
                page = await ResendUnparsedAsync(() => _client.ListObjectsV2Async(request, cancellationToken)).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, _location, "list", request.Prefix, cancellationToken);
            }
            // SDK 4 leaves empty collections null.
            foreach (var o in page.S3Objects ?? [])
            {
                // Keys ending in '/' are "folder" markers made by consoles, not objects.
                if (o.Key is null || !o.Key.StartsWith(keyPrefix, StringComparison.Ordinal) || o.Key.EndsWith('/'))
                    continue;
                yield return (o.Key[keyPrefix.Length..], o);
            }
            if (page.IsTruncated != true || string.IsNullOrEmpty(page.NextContinuationToken))
                yield break;
            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    /// <summary>On a versioned bucket this only adds a delete marker; the old versions stay.</summary>
    public async Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        var key = _location.KeyOf(name);
        try
        {
            await ResendUnparsedAsync(() => _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _location.Bucket, Key = key }, cancellationToken))
                .ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (S3Errors.IsCode(e, "NoSuchKey"))
        {
            // Absent is fine.
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "delete", key, cancellationToken);
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>Sends of one request when the server could not parse it (see <see cref="ResendUnparsedAsync{T}"/>).</summary>
    private const int UnparsedRequestSends = 4;

    private long _unparsedResends;

    /// <summary>Requests sent again because the server could not parse them (diagnostics; tests prove the case happened).</summary>
    public long UnparsedResends => Interlocked.Read(ref _unparsedResends);

    /// <summary>
    /// RGW answers an upload it refuses before reading the body (a bad signature, a denied key) without draining that
    /// body, and keeps the connection. The pooled connection's next request — any request, from any store sharing the
    /// SDK's HTTP client — is then parsed after the leftover bytes, fails as "bad method", and comes back as a bare 400
    /// with no S3 error and no request id, after which RGW closes the connection. The server never processed that
    /// request, so sending it again, on a fresh connection, is safe for every operation, create-only puts included.
    /// A few sends cover several such connections in the pool; this is not the retry layer (no waiting, no other errors).
    /// </summary>
    private async Task<T> ResendUnparsedAsync<T>(Func<Task<T>> send)
    {
        for (int sends = 1; ; sends++)
        {
            try
            {
                return await send().ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (sends < UnparsedRequestSends && S3Errors.IsUnparsedRequest(e))
            {
                Interlocked.Increment(ref _unparsedResends);
            }
        }
    }

    private string? StorageClassFor(PutHint hint) => hint == PutHint.RarelyRead ? _options.StorageClass : null;

    private static bool IsPreconditionFailed(AmazonS3Exception e) =>
        e.StatusCode == HttpStatusCode.PreconditionFailed || S3Errors.IsCode(e, "PreconditionFailed");

    private static MemoryStream AsStream(ReadOnlyMemory<byte> data) =>
        MemoryMarshal.TryGetArray(data, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(data.ToArray(), writable: false);

    // Content-MD5 lets the server reject a body damaged in transit; it is an integrity check, not security.
#pragma warning disable CA5351
    private static string Md5Base64(ReadOnlySpan<byte> data) => Convert.ToBase64String(MD5.HashData(data));
#pragma warning restore CA5351

    private static DateTimeOffset ToUtc(DateTime? time)
    {
        if (time is not { } t)
            return DateTimeOffset.UnixEpoch;
        return new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime());
    }
}
