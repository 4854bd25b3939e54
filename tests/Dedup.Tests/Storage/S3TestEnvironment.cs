using Amazon.Runtime;
using Dedup.Storage;
using Dedup.Storage.S3;
using Xunit;

namespace Dedup.Tests.Storage;

/// <summary>
/// The local RGW started by scripts/s3-server.sh. Missing settings fail the test (never skip): a suite
/// that silently passes without its server would hide a broken S3 layer.
/// </summary>
internal static class S3TestEnvironment
{
    public static string Endpoint => Get("DEDUP_TEST_S3_ENDPOINT");
    public static string Bucket => Get("DEDUP_TEST_S3_BUCKET");
    public static string VersionedBucket => Get("DEDUP_TEST_S3_VERSIONED_BUCKET");
    /// <summary>Object Lock enabled (so versioned), with no default retention: tests set retention per object or their own default.</summary>
    public static string LockedBucket => Get("DEDUP_TEST_S3_LOCKED_BUCKET");
    public static AWSCredentials Admin => new BasicAWSCredentials(Get("DEDUP_TEST_S3_ADMIN_KEY"), Get("DEDUP_TEST_S3_ADMIN_SECRET"));
    public static AWSCredentials Client => new BasicAWSCredentials(Get("DEDUP_TEST_S3_CLIENT_KEY"), Get("DEDUP_TEST_S3_CLIENT_SECRET"));
    public static AWSCredentials WrongSecret => new BasicAWSCredentials(Get("DEDUP_TEST_S3_CLIENT_KEY"), "not-the-secret");

    /// <summary>A location under a fresh prefix, so tests never see each other's objects.</summary>
    public static S3Location FreshLocation(string? bucket = null, string purpose = "test") =>
        S3Location.Parse($"s3:{Endpoint}/{bucket ?? Bucket}/{purpose}-{Guid.NewGuid():N}");

    public static S3Storage Storage(S3Location location, AWSCredentials credentials, S3StorageOptions? options = null) =>
        new(location, options ?? new S3StorageOptions { ListPageSize = 7, Timeout = TimeSpan.FromSeconds(30) }, credentials);

    /// <summary>Deletes everything under the location's prefix, as admin (the client user may not delete).</summary>
    public static async Task CleanUpAsync(S3Location location)
    {
        using var admin = Storage(location, Admin);
        var names = new List<string>();
        await foreach (var o in admin.ListAsync(""))
            names.Add(o.Name);
        foreach (var name in names)
            await admin.DeleteAsync(name);
    }

    private static string Get(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(value))
            Assert.Fail($"{name} is not set. The S3 tests need the local test server: run `scripts/s3-server.sh start` and then `source .state/s3/env` (or `eval \"$(scripts/s3-server.sh env)\"`) before `dotnet test`.");
        return value!;
    }
}

public sealed class S3StorageConformanceTests : StorageConformanceTests
{
    private S3Location? _location;

    protected override Task<IMaintenanceStorage> CreateStorageAsync()
    {
        _location = S3TestEnvironment.FreshLocation(purpose: "conformance");
        return Task.FromResult<IMaintenanceStorage>(S3TestEnvironment.Storage(_location, S3TestEnvironment.Admin));
    }

    protected override async Task DestroyStorageAsync(IMaintenanceStorage storage)
    {
        if (_location is not null)
            await S3TestEnvironment.CleanUpAsync(_location);
        ((S3Storage)storage).Dispose();
    }
}
