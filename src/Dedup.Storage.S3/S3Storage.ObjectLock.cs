using System.Net;
using Amazon.S3;
using Amazon.S3.Model;

namespace Dedup.Storage.S3;

/// <summary>Object Lock's two modes: GOVERNANCE can be lifted by a user granted s3:BypassGovernanceRetention, COMPLIANCE by nobody.</summary>
public enum RetentionMode
{
    Governance,
    Compliance,
}

/// <summary>The bucket's default retention: every new object version is locked in this mode for this many days.</summary>
public sealed record BucketRetention(RetentionMode Mode, int Days)
{
    public TimeSpan Period => TimeSpan.FromDays(Days);
}

/// <summary>One object version's lock: no mode and no date when it has none.</summary>
public sealed record ObjectRetention(string VersionId, RetentionMode? Mode, DateTimeOffset? RetainUntil)
{
    public bool IsLockedAt(DateTimeOffset now) => RetainUntil is { } until && until > now;
}

/// <summary>The bucket was created without Object Lock, which S3 can only turn on at creation.</summary>
public sealed class ObjectLockNotEnabledException(string message) : StorageException(message);

/// <summary>
/// Object Lock: the bucket's default retention (the single place Dedup keeps the retention mode and period) and the
/// retention of single object versions. Default retention locks what put-only hosts write without their needing
/// s3:PutObjectRetention; the admin's maintenance extends it on live objects. Nothing here shortens a retention.
/// </summary>
public sealed partial class S3Storage
{
    private string NoObjectLock => $"{Location}: the bucket has no Object Lock, and S3 can only turn it on when a bucket is created: "
                                   + "create a new bucket with it (aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket), "
                                   + "then 'dedup copy' the repository there";

    /// <summary>
    /// The bucket's default retention, or null when Object Lock is on without one. Throws
    /// <see cref="ObjectLockNotEnabledException"/> on a bucket without Object Lock.
    /// </summary>
    public async Task<BucketRetention?> GetDefaultRetentionAsync(CancellationToken cancellationToken = default)
    {
        GetObjectLockConfigurationResponse response;
        try
        {
            response = await ResendUnparsedAsync(() => _client.GetObjectLockConfigurationAsync(
                new GetObjectLockConfigurationRequest { BucketName = _location.Bucket }, cancellationToken)).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (S3Errors.IsCode(e, "ObjectLockConfigurationNotFoundError"))
        {
            throw new ObjectLockNotEnabledException(NoObjectLock);
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "read the Object Lock setting of", "", cancellationToken);
        }
        var config = response.ObjectLockConfiguration;
        if (config?.ObjectLockEnabled != ObjectLockEnabled.Enabled)
            throw new ObjectLockNotEnabledException(NoObjectLock);
        if (config.Rule?.DefaultRetention is not { } rule || rule.Mode is null)
            return null;
        var days = rule.Days is > 0 ? rule.Days.Value : rule.Years is > 0 ? rule.Years.Value * 365 : 0;
        return days == 0 ? null : new BucketRetention(ToMode(rule.Mode), days);
    }

    /// <summary>Sets the bucket's default retention (PutObjectLockConfiguration); new versions get it, existing ones keep theirs.</summary>
    public async Task SetDefaultRetentionAsync(BucketRetention retention, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retention.Days, 1);
        // Refuses with one clear line on a bucket without Object Lock (S3's own answer there is a bare InvalidBucketState).
        await GetDefaultRetentionAsync(cancellationToken).ConfigureAwait(false);
        var request = new PutObjectLockConfigurationRequest
        {
            BucketName = _location.Bucket,
            ObjectLockConfiguration = new ObjectLockConfiguration
            {
                ObjectLockEnabled = ObjectLockEnabled.Enabled,
                Rule = new ObjectLockRule
                {
                    DefaultRetention = new DefaultRetention { Mode = ToSdk(retention.Mode), Days = retention.Days },
                },
            },
        };
        try
        {
            await ResendUnparsedAsync(() => _client.PutObjectLockConfigurationAsync(request, cancellationToken)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "set the Object Lock setting of", "", cancellationToken);
        }
    }

    /// <summary>The retention of the current version (<paramref name="versionId"/> null) or of one version; null when there is no such object.</summary>
    public async Task<ObjectRetention?> GetRetentionAsync(string name, string? versionId = null, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        var key = _location.KeyOf(name);
        var request = new GetObjectMetadataRequest { BucketName = _location.Bucket, Key = key };
        if (versionId is not null) request.VersionId = versionId;
        try
        {
            // HEAD reports x-amz-object-lock-mode and -retain-until-date, and the version it describes.
            var response = await ResendUnparsedAsync(() => _client.GetObjectMetadataAsync(request, cancellationToken)).ConfigureAwait(false);
            var mode = response.ObjectLockMode is { } m && !string.IsNullOrEmpty(m.Value) ? ParseMode(m.Value) : (RetentionMode?)null;
            var until = response.ObjectLockRetainUntilDate is { } d ? ToUtc(d) : (DateTimeOffset?)null;
            return new ObjectRetention(response.VersionId ?? versionId ?? "null", mode, mode is null ? null : until);
        }
        catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
        {
            // 405 is a delete marker's version: no bytes, no lock.
            return null;
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "read the retention of", key, cancellationToken);
        }
    }

    /// <summary>
    /// Locks one version until <paramref name="until"/> (PutObjectRetention, never with a governance bypass): S3 refuses
    /// to shorten a retention or to weaken COMPLIANCE, so callers only ever lengthen.
    /// </summary>
    public async Task SetRetentionAsync(string name, string versionId, RetentionMode mode, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        var key = _location.KeyOf(name);
        var request = new PutObjectRetentionRequest
        {
            BucketName = _location.Bucket,
            Key = key,
            VersionId = versionId,
            Retention = new ObjectLockRetention { Mode = ToSdk(mode), RetainUntilDate = until.UtcDateTime },
        };
        try
        {
            await ResendUnparsedAsync(() => _client.PutObjectRetentionAsync(request, cancellationToken)).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ObjectNotFoundException($"{Location}: '{key}' version '{versionId}' does not exist.", e);
        }
        catch (Exception e)
        {
            throw S3Errors.Map(e, _location, "extend the retention of", key, cancellationToken);
        }
    }

    private static RetentionMode ToMode(ObjectLockRetentionMode mode) => ParseMode(mode.Value);

    private static RetentionMode ParseMode(string mode) =>
        string.Equals(mode, "COMPLIANCE", StringComparison.OrdinalIgnoreCase) ? RetentionMode.Compliance : RetentionMode.Governance;

    private static ObjectLockRetentionMode ToSdk(RetentionMode mode) =>
        mode == RetentionMode.Compliance ? ObjectLockRetentionMode.Compliance : ObjectLockRetentionMode.Governance;
}
