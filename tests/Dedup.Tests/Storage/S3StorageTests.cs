using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using Dedup.Storage;
using Dedup.Storage.S3;
using Xunit;
using S3Location = Dedup.Storage.S3.S3Location;

namespace Dedup.Tests.Storage;

/// <summary>Behaviour only a real S3 server shows: policies, versioning, credentials, outages, multipart.</summary>
public sealed class S3StorageTests : IAsyncLifetime
{
    private readonly List<S3Location> _used = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var location in _used)
            await S3TestEnvironment.CleanUpAsync(location);
    }

    private S3Location Fresh(string? bucket = null)
    {
        var location = S3TestEnvironment.FreshLocation(bucket);
        _used.Add(location);
        return location;
    }

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    private static async Task<byte[]> ReadAllAsync(IStorage storage, string name)
    {
        await using var stream = await storage.OpenReadAsync(name);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task Client_may_write_and_read_but_delete_is_denied_while_admin_may_delete()
    {
        var location = Fresh();
        using var client = S3TestEnvironment.Storage(location, S3TestEnvironment.Client);
        using var admin = S3TestEnvironment.Storage(location, S3TestEnvironment.Admin);
        Assert.Equal(PutOutcome.Created, await client.PutAsync("data/aa/obj", Bytes("payload")));
        Assert.Equal(Bytes("payload"), await ReadAllAsync(client, "data/aa/obj"));

        var denied = await Assert.ThrowsAsync<StorageAccessDeniedException>(() => client.DeleteAsync("data/aa/obj"));
        Assert.Equal("delete", denied.Operation);
        Assert.Contains("AccessDenied", denied.Message);
        Assert.Contains(location.Bucket, denied.Message);
        Assert.False(denied.IsTransient);

        // bucket-owner-full-control: the owner can read what the client wrote, and delete it.
        Assert.Equal(Bytes("payload"), await ReadAllAsync(admin, "data/aa/obj"));
        await admin.DeleteAsync("data/aa/obj");
        Assert.Null(await admin.StatAsync("data/aa/obj"));
    }

    [Fact]
    public async Task Versioned_bucket_ignores_if_none_match_and_writes_a_new_version()
    {
        // Observed RGW behaviour (see /work/shared/notes/s3-server.md): on a versioned bucket a second
        // create-only put "succeeds" and the newest version wins. Callers must verify content by hash.
        var location = Fresh(S3TestEnvironment.VersionedBucket);
        using var admin = S3TestEnvironment.Storage(location, S3TestEnvironment.Admin);
        Assert.Equal(PutOutcome.Created, await admin.PutAsync("config", Bytes("first")));
        var second = await admin.PutAsync("config", Bytes("second"));
        Assert.Equal(PutOutcome.Created, second);
        Assert.Equal(Bytes("second"), await ReadAllAsync(admin, "config"));
        Assert.Equal(new BucketProtection(VersioningState.Enabled, ObjectLockState.Off), await admin.GetProtectionAsync());
    }

    [Fact]
    public async Task Unversioned_bucket_reports_no_protection()
    {
        using var client = S3TestEnvironment.Storage(Fresh(), S3TestEnvironment.Client);
        Assert.Equal(new BucketProtection(VersioningState.Off, ObjectLockState.Off), await client.GetProtectionAsync());
        Assert.True(await client.BucketExistsAsync());
    }

    [Fact]
    public async Task Missing_bucket_is_reported_clearly()
    {
        var location = S3Location.Parse($"s3:{S3TestEnvironment.Endpoint}/dedup-test-no-such-bucket/x");
        using var admin = S3TestEnvironment.Storage(location, S3TestEnvironment.Admin);
        Assert.False(await admin.BucketExistsAsync());
        var e = await Assert.ThrowsAsync<ObjectNotFoundException>(() => admin.OpenReadAsync("config"));
        Assert.Contains("bucket 'dedup-test-no-such-bucket' does not exist", e.Message);
    }

    [Fact]
    public async Task Wrong_secret_fails_permanently_without_retries()
    {
        using var wrong = S3TestEnvironment.Storage(Fresh(), S3TestEnvironment.WrongSecret);
        var retries = 0;
        var retrying = wrong.WithRetries(new RetryPolicy { BaseDelay = TimeSpan.FromMilliseconds(1), OnRetry = (_, _, _) => retries++ });
        var e = await Assert.ThrowsAsync<StorageException>(() => retrying.PutAsync("config", Bytes("x")));
        Assert.False(e.IsTransient);
        Assert.Contains("rejected the credentials", e.Message);
        Assert.Contains("SignatureDoesNotMatch", e.Message);
        Assert.DoesNotContain("not-the-secret", e.Message);
        Assert.Equal(0, retries);
    }

    [Fact]
    public async Task Endpoint_down_is_unavailable_after_retries()
    {
        var port = UnusedPort();
        var location = S3Location.Parse($"s3:http://127.0.0.1:{port}/dedup-test/x");
        using var storage = S3TestEnvironment.Storage(location, S3TestEnvironment.Admin);
        var retries = 0;
        var retrying = storage.WithRetries(new RetryPolicy
        {
            MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(1), OnRetry = (_, _, _) => retries++,
        });
        var e = await Assert.ThrowsAsync<StorageUnavailableException>(() => retrying.StatAsync("config"));
        Assert.True(e.IsTransient);
        Assert.Contains($"127.0.0.1:{port}", e.Message);
        Assert.Equal(2, retries);
    }

    [Fact]
    public async Task Multipart_upload_round_trips_and_is_create_only()
    {
        var location = Fresh();
        var options = new S3StorageOptions { MultipartThreshold = 6 << 20, PartSize = 5 << 20 };
        using var client = S3TestEnvironment.Storage(location, S3TestEnvironment.Client, options);
        var data = new byte[(11 << 20) + 123];
        new Random(3).NextBytes(data);
        Assert.Equal(PutOutcome.Created, await client.PutAsync("data/bb/big", data));
        Assert.Equal(data, await ReadAllAsync(client, "data/bb/big"));
        Assert.Equal(PutOutcome.AlreadyExists, await client.PutAsync("data/bb/big", data));
        Assert.Equal(data.Length, (await client.StatAsync("data/bb/big"))!.Value.Size);
    }

    [Fact]
    public async Task Abort_incomplete_uploads_removes_old_multipart_uploads()
    {
        var location = Fresh();
        using var raw = new AmazonS3Client(S3TestEnvironment.Admin, S3Storage.CreateConfig(location, new S3StorageOptions()));
        var key = location.KeyOf("data/cc/abandoned");
        var upload = await raw.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = location.Bucket, Key = key });

        using var now = S3TestEnvironment.Storage(location, S3TestEnvironment.Admin);
        Assert.Equal(0, await now.AbortIncompleteUploadsAsync(TimeSpan.FromHours(1)));
        using var later = new S3Storage(location, new S3StorageOptions(), S3TestEnvironment.Admin, new ShiftedTime(TimeSpan.FromHours(2)));
        Assert.Equal(1, await later.AbortIncompleteUploadsAsync(TimeSpan.FromHours(1)));
        var remaining = await raw.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = location.Bucket, Prefix = location.KeyPrefix });
        Assert.DoesNotContain(remaining.MultipartUploads ?? [], u => u.UploadId == upload.UploadId);
    }

    private static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + shift;
    }
}
