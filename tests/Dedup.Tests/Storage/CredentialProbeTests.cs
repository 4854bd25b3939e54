using Amazon.Runtime;
using Dedup.Storage;
using Xunit;

namespace Dedup.Tests.Storage;

/// <summary>
/// The credential check ('dedup doctor') against the real S3 server: what client and admin credentials can do on a
/// plain bucket (create-only enforced) and on a versioned one (where Ceph RGW ignores If-None-Match, so an overwrite
/// takes effect — the thing the check must say plainly), and on a local folder.
/// </summary>
public sealed class CredentialProbeTests : IAsyncLifetime
{
    private readonly List<Dedup.Storage.S3.S3Location> _used = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var location in _used) await S3TestEnvironment.CleanUpAsync(location);
    }

    private async Task<CredentialReport> ProbeS3Async(string bucket, AWSCredentials who)
    {
        var location = S3TestEnvironment.FreshLocation(bucket, "probe");
        _used.Add(location);
        using var storage = S3TestEnvironment.Storage(location, who);
        var report = await CredentialProbe.RunAsync(storage, "inflight/");
        // The canary really is where the report says (or was deleted, when deletion was allowed).
        using var admin = S3TestEnvironment.Storage(location, S3TestEnvironment.Admin);
        Assert.Equal(report.Delete != Capability.Allowed, await admin.StatAsync(report.Canary) is not null);
        return report;
    }

    [Fact]
    public async Task Plain_bucket_client_may_create_list_and_read_but_neither_overwrite_nor_delete()
    {
        var r = await ProbeS3Async(S3TestEnvironment.Bucket, S3TestEnvironment.Client);
        Assert.Equal((Capability.Allowed, Capability.Allowed, Capability.Allowed), (r.Put, r.List, r.Read));
        Assert.Equal(Capability.Denied, r.Overwrite);
        Assert.False(r.OverwriteTookEffect);
        Assert.Equal(Capability.Denied, r.Delete);
    }

    [Fact]
    public async Task Plain_bucket_admin_may_delete_and_still_cannot_overwrite()
    {
        var r = await ProbeS3Async(S3TestEnvironment.Bucket, S3TestEnvironment.Admin);
        Assert.Equal(Capability.Denied, r.Overwrite);
        Assert.Equal(Capability.Allowed, r.Delete);
    }

    [Fact]
    public async Task Versioned_bucket_ignores_create_only_and_the_probe_says_the_overwrite_took_effect()
    {
        var client = await ProbeS3Async(S3TestEnvironment.VersionedBucket, S3TestEnvironment.Client);
        Assert.Equal(Capability.Allowed, client.Overwrite);
        Assert.True(client.OverwriteTookEffect);
        Assert.Equal(Capability.Denied, client.Delete);
        var admin = await ProbeS3Async(S3TestEnvironment.VersionedBucket, S3TestEnvironment.Admin);
        Assert.True(admin.OverwriteTookEffect);
        Assert.Equal(Capability.Allowed, admin.Delete);
    }

    /// <summary>
    /// Ceph RGW refuses a second create-only put on a plain bucket, yet completes a multipart upload over the object
    /// and copies it onto itself (found by the adversarial review): the probe must say so, and the replacement must
    /// really have happened (it reads the canary back).
    /// </summary>
    [Fact]
    public async Task Plain_bucket_other_routes_than_a_put_are_probed_and_reported_as_they_are()
    {
        var location = S3TestEnvironment.FreshLocation(S3TestEnvironment.Bucket, "probe-routes");
        _used.Add(location);
        using var client = S3TestEnvironment.Storage(location, S3TestEnvironment.Client);
        Assert.Equal(Capability.Denied, (await CredentialProbe.RunAsync(client, "inflight/")).Overwrite);
        var routes = await client.ProbeOverwriteRoutesAsync("inflight/");
        Assert.Equal(Capability.Allowed, routes.MultipartReplace);
        Assert.True(routes.MultipartTookEffect, "RGW accepted the multipart completion but the canary kept its bytes");
        Assert.Equal(Capability.Allowed, routes.CopyOntoItself);
        Assert.True(routes.AnyAccepted);
    }

    [Fact]
    public async Task A_local_folder_is_create_only_and_the_read_write_view_cannot_delete()
    {
        using var dir = new Dedup.TestKit.TempDir("probe");
        var local = new LocalStorage(dir.Path);
        var full = await CredentialProbe.RunAsync(local, "inflight/");
        Assert.Equal((Capability.Allowed, Capability.Denied, false, Capability.Allowed), (full.Put, full.Overwrite, full.OverwriteTookEffect, full.Delete));
        // Through a store that cannot delete (what a backup host's verbs get), delete is not even tried.
        var view = await CredentialProbe.RunAsync(new ReadWriteOnly(local), "inflight/");
        Assert.Equal(Capability.NotTried, view.Delete);
        Assert.True(File.Exists(Path.Join(dir.Path, view.Canary)));
    }

    /// <summary>Hides the delete capability of a store, as the CLI does for verbs that must not delete.</summary>
    private sealed class ReadWriteOnly(IStorage inner) : IStorage
    {
        public string Location => inner.Location;
        public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken ct = default) => inner.PutAsync(name, data, ct);
        public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken ct = default) => inner.OpenReadAsync(name, offset, length, ct);
        public Task<StoredObject?> StatAsync(string name, CancellationToken ct = default) => inner.StatAsync(name, ct);
        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken ct = default) => inner.ListAsync(prefix, ct);
    }
}
