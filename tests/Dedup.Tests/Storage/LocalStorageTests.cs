using System.Text;
using Dedup.Storage;
using Xunit;

namespace Dedup.Tests.Storage;

/// <summary>What only the file-system store does: temporary files and their cleanup.</summary>
public sealed class LocalStorageTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dedup-local-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    private string TornWrite(string name, DateTime? mtime = null)
    {
        // What a process killed mid-put leaves: a partial temp file next to where the object would be.
        var path = Path.Combine(_root, name + ".tmp-0123456789abcdef");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Encoding.UTF8.GetBytes("partial"));
        if (mtime is { } t)
            File.SetLastWriteTimeUtc(path, t);
        return path;
    }

    [Fact]
    public async Task A_torn_write_is_never_listed_or_read()
    {
        var storage = new LocalStorage(_root);
        TornWrite("data/ab/abcd");
        await storage.PutAsync("data/ab/other", Encoding.UTF8.GetBytes("whole"));
        var names = new List<string>();
        await foreach (var o in storage.ListAsync(""))
            names.Add(o.Name);
        Assert.Equal(["data/ab/other"], names);
        Assert.Null(await storage.StatAsync("data/ab/abcd"));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => storage.OpenReadAsync("data/ab/abcd"));
        // The real put still works after a torn one.
        Assert.Equal(PutOutcome.Created, await storage.PutAsync("data/ab/abcd", Encoding.UTF8.GetBytes("whole")));
    }

    [Fact]
    public async Task Temp_names_cannot_be_used_as_object_names()
    {
        var storage = new LocalStorage(_root);
        await Assert.ThrowsAsync<ArgumentException>(() => storage.OpenReadAsync("data/ab/abcd.tmp-0123456789abcdef"));
        await Assert.ThrowsAsync<ArgumentException>(() => storage.PutAsync("x.tmp-1", new byte[1]));
    }

    [Fact]
    public async Task Puts_leave_no_temp_files_behind()
    {
        var storage = new LocalStorage(_root);
        await storage.PutAsync("index/a", new byte[10]);
        await storage.PutAsync("index/a", new byte[20]);
        Assert.Equal([Path.Combine(_root, "index", "a")], Directory.GetFiles(_root, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Abort_incomplete_uploads_removes_only_stale_temp_files()
    {
        var storage = new LocalStorage(_root);
        await storage.PutAsync("data/ab/kept", new byte[3]);
        File.SetLastWriteTimeUtc(Path.Combine(_root, "data", "ab", "kept"), DateTime.UtcNow.AddDays(-30));
        var stale1 = TornWrite("data/ab/stale", DateTime.UtcNow.AddDays(-2));
        var stale2 = TornWrite("index/stale", DateTime.UtcNow.AddHours(-25));
        var fresh = TornWrite("data/cd/in-flight");

        Assert.Equal(2, await storage.AbortIncompleteUploadsAsync(TimeSpan.FromDays(1)));
        Assert.False(File.Exists(stale1));
        Assert.False(File.Exists(stale2));
        Assert.True(File.Exists(fresh));
        Assert.NotNull(await storage.StatAsync("data/ab/kept"));
        Assert.Equal(0, await storage.AbortIncompleteUploadsAsync(TimeSpan.FromDays(1)));
    }

    [Fact]
    public async Task Stat_reports_the_file_mtime_in_utc()
    {
        var storage = new LocalStorage(_root);
        await storage.PutAsync("snapshots/s", new byte[4]);
        var mtime = new DateTime(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(Path.Combine(_root, "snapshots", "s"), mtime);
        var stat = await storage.StatAsync("snapshots/s");
        Assert.Equal(new DateTimeOffset(mtime), stat!.Value.LastModified);
        Assert.Equal(TimeSpan.Zero, stat.Value.LastModified.Offset);
    }

    [Fact]
    public async Task A_missing_root_lists_nothing()
    {
        var storage = new LocalStorage(Path.Combine(_root, "not-there"));
        await foreach (var _ in storage.ListAsync(""))
            Assert.Fail("nothing expected");
        Assert.Equal(0, await storage.AbortIncompleteUploadsAsync(TimeSpan.Zero));
    }
}

public sealed class MemoryStorageTests
{
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public async Task LastModified_comes_from_the_time_provider()
    {
        var time = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var storage = new MemoryStorage { TimeProvider = new FixedTime(time) };
        await storage.PutAsync("locks/x", new byte[1]);
        Assert.Equal(time, (await storage.StatAsync("locks/x"))!.Value.LastModified);
    }

    [Fact]
    public async Task Stored_bytes_are_a_copy()
    {
        var storage = new MemoryStorage();
        var data = new byte[] { 1, 2, 3 };
        await storage.PutAsync("x", data);
        data[0] = 9;
        await using var stream = await storage.OpenReadAsync("x");
        Assert.Equal(1, stream.ReadByte());
    }
}
