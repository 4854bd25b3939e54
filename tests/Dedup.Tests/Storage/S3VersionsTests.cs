using System.Text;
using Dedup.Storage;
using Dedup.Storage.S3;
using Xunit;

namespace Dedup.Tests.Storage;

/// <summary>The version primitives against the real server's versioned bucket: list, read, copy back, delete for good.</summary>
public sealed class S3VersionsTests
{
    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    private static async Task<List<ObjectVersion>> VersionsAsync(S3Storage storage, string prefix)
    {
        var list = new List<ObjectVersion>();
        await foreach (var v in storage.ListVersionsAsync(prefix)) list.Add(v);
        return list;
    }

    [Fact]
    public async Task Overwrites_and_deletes_leave_versions_that_list_newest_first_read_back_and_copy_back()
    {
        var location = S3TestEnvironment.FreshLocation(S3TestEnvironment.VersionedBucket, "versions");
        using var admin = S3TestEnvironment.Storage(location, S3TestEnvironment.Admin); // list pages of 7: pagination too
        await admin.PutAsync("index/a", Bytes("first"));
        await admin.PutAsync("index/a", Bytes("second")); // a versioned bucket ignores create-only: a new version
        await admin.DeleteAsync("index/a");               // a delete marker
        for (var i = 0; i < 8; i++) await admin.PutAsync($"index/b{i}", Bytes($"b{i}"));

        var versions = await VersionsAsync(admin, "index/");
        var a = versions.Where(v => v.Name == "index/a").ToList();
        Assert.Equal(3, a.Count);
        Assert.True(a[0].IsDeleteMarker && a[0].IsLatest && a[0].Size == 0 && a[0].StorageClass is null);
        Assert.False(a[1].IsDeleteMarker || a[1].IsLatest);
        Assert.Equal(6, a[1].Size);
        Assert.Equal(5, a[2].Size);
        Assert.True(a[0].LastModified >= a[1].LastModified && a[1].LastModified >= a[2].LastModified);
        Assert.Equal(8, versions.Count(v => v.Name.StartsWith("index/b", StringComparison.Ordinal) && v.IsLatest && !v.IsDeleteMarker));
        Assert.Equal(versions.Select(v => v.Name).Order(StringComparer.Ordinal), versions.Select(v => v.Name)); // key order
        Assert.Null(await admin.StatAsync("index/a"));

        Assert.Equal(Bytes("first"), await ReadAllAsync(await admin.OpenReadVersionAsync("index/a", a[2].VersionId)));
        Assert.Equal(Bytes("irs"), await ReadAllAsync(await admin.OpenReadVersionAsync("index/a", a[2].VersionId, 1, 3)));
        await Assert.ThrowsAsync<ObjectNotFoundException>(async () => await ReadAllAsync(await admin.OpenReadVersionAsync("index/a", a[0].VersionId)));

        await admin.CopyVersionToCurrentAsync("index/a", a[2].VersionId);
        await using (var current = await admin.OpenReadAsync("index/a"))
            Assert.Equal(Bytes("first"), await ReadAllAsync(current));
        Assert.Equal(4, (await VersionsAsync(admin, "index/a")).Count);

        await admin.DeleteVersionAsync("index/a", a[1].VersionId);
        await admin.DeleteVersionAsync("index/a", a[1].VersionId); // gone already: not an error
        var after = await VersionsAsync(admin, "index/a");
        Assert.Equal(3, after.Count);
        Assert.DoesNotContain(after, v => v.VersionId == a[1].VersionId);
    }

    [Fact]
    public async Task A_client_may_never_delete_a_version()
    {
        var location = S3TestEnvironment.FreshLocation(S3TestEnvironment.VersionedBucket, "versions");
        using var admin = S3TestEnvironment.Storage(location, S3TestEnvironment.Admin);
        using var client = S3TestEnvironment.Storage(location, S3TestEnvironment.Client);
        await client.PutAsync("snapshots/s", Bytes("snapshot"));
        var version = Assert.Single(await VersionsAsync(admin, "snapshots/"));
        await Assert.ThrowsAsync<StorageAccessDeniedException>(() => client.DeleteVersionAsync("snapshots/s", version.VersionId));
        Assert.Equal(Bytes("snapshot"), await ReadAllAsync(await admin.OpenReadVersionAsync("snapshots/s", version.VersionId)));
    }
}
