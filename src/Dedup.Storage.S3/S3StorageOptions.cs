namespace Dedup.Storage.S3;

/// <summary>Tuning for <see cref="S3Storage"/>. Credentials are deliberately not here: they come from the AWS chain.</summary>
public sealed record S3StorageOptions
{
    /// <summary>AWS region for <c>s3:BUCKET</c> URLs; null means the standard AWS config (AWS_REGION, profile).</summary>
    public string? Region { get; init; }

    /// <summary>Signing region for custom endpoints. RGW and most others accept us-east-1.</summary>
    public string EndpointSigningRegion { get; init; } = "us-east-1";

    /// <summary>Objects at least this big are sent as multipart uploads.</summary>
    public long MultipartThreshold { get; init; } = 64L << 20;

    /// <summary>Part size of multipart uploads (S3 minimum 5 MiB except the last part).</summary>
    public int PartSize { get; init; } = 16 << 20;

    /// <summary>Storage class for objects put with <see cref="PutHint.RarelyRead"/> (data packs), e.g. "STANDARD_IA" or "GLACIER"; null for the bucket default.</summary>
    public string? StorageClass { get; init; }


    /// <summary>HTTP connections per server. Concurrency itself is limited by <see cref="ConcurrencyLimitingStorage"/>.</summary>
    public int MaxConnections { get; init; } = 5;

    /// <summary>Keys per ListObjectsV2 page (S3 maximum 1000). Smaller pages let tests exercise pagination cheaply.</summary>
    public int ListPageSize { get; init; } = 1000;

    /// <summary>Per-request HTTP timeout; null keeps the SDK's default.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// The SDK's own retries. 0 by default because <see cref="RetryingStorage"/> owns the retry policy:
    /// retrying in two layers multiplies attempts and hides cancellation and backoff from the caller.
    /// </summary>
    public int SdkMaxErrorRetry { get; init; }
}
