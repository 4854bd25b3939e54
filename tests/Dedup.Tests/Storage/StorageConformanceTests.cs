using System.Text;
using Dedup.Storage;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Dedup.Tests.Storage;

/// <summary>
/// The guarantees of <see cref="IStorage"/> and <see cref="IMaintenanceStorage"/>, run against every
/// implementation. Each test gets a fresh, empty store.
/// </summary>
public abstract class StorageConformanceTests : IAsyncLifetime
{
    private IMaintenanceStorage? _storage;

    protected IMaintenanceStorage Storage => _storage ?? throw new InvalidOperationException("not initialised");

    /// <summary>A fresh, empty store. S3 subclasses use a unique prefix.</summary>
    protected abstract Task<IMaintenanceStorage> CreateStorageAsync();

    protected virtual Task DestroyStorageAsync(IMaintenanceStorage storage) => Task.CompletedTask;

    public async Task InitializeAsync() => _storage = await CreateStorageAsync();

    public async Task DisposeAsync()
    {
        if (_storage is not null)
            await DestroyStorageAsync(_storage);
    }

    protected static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    protected static async Task<byte[]> ReadAllAsync(IStorage storage, string name, long offset = 0, long length = -1)
    {
        await using var stream = await storage.OpenReadAsync(name, offset, length);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task Put_then_read_returns_the_same_bytes()
    {
        var data = new byte[100_000];
        new Random(1).NextBytes(data);
        Assert.Equal(PutOutcome.Created, await Storage.PutAsync("data/ab/abcdef", data));
        Assert.Equal(data, await ReadAllAsync(Storage, "data/ab/abcdef"));
    }

    [Fact]
    public async Task Put_is_create_only_and_keeps_the_first_content()
    {
        Assert.Equal(PutOutcome.Created, await Storage.PutAsync("config", Bytes("first")));
        Assert.Equal(PutOutcome.AlreadyExists, await Storage.PutAsync("config", Bytes("second")));
        Assert.Equal(Bytes("first"), await ReadAllAsync(Storage, "config"));
    }

    [Fact]
    public async Task Ranged_reads_return_the_slice_and_end_early_past_the_end()
    {
        var data = Bytes("0123456789");
        await Storage.PutAsync("index/r", data);
        Assert.Equal(Bytes("234"), await ReadAllAsync(Storage, "index/r", 2, 3));
        Assert.Equal(Bytes("789"), await ReadAllAsync(Storage, "index/r", 7));
        Assert.Equal(Bytes("89"), await ReadAllAsync(Storage, "index/r", 8, 100));
        Assert.Empty(await ReadAllAsync(Storage, "index/r", 10));
        Assert.Empty(await ReadAllAsync(Storage, "index/r", 50, 5));
        Assert.Empty(await ReadAllAsync(Storage, "index/r", 3, 0));
    }

    [Fact]
    public async Task Ranged_reads_match_array_slices_for_random_ranges()
    {
        var data = new byte[4096];
        new Random(7).NextBytes(data);
        await Storage.PutAsync("data/00/random", data);
        // FsCheck picks the ranges; the reads are awaited here rather than blocked on inside a property.
        var ranges = Gen.Zip(Gen.Choose(0, 5000), Gen.Choose(-1, 5000)).Sample(30, 25);
        foreach (var (offset, length) in ranges)
        {
            var start = Math.Min(offset, data.Length);
            var end = length < 0 ? data.Length : Math.Min(data.Length, start + length);
            Assert.Equal(data[start..end], await ReadAllAsync(Storage, "data/00/random", offset, length));
        }
    }

    [Fact]
    public async Task Stat_gives_size_and_a_recent_time_and_null_when_missing()
    {
        var before = DateTimeOffset.UtcNow.AddMinutes(-5);
        await Storage.PutAsync("snapshots/s1", Bytes("hello"));
        var stat = await Storage.StatAsync("snapshots/s1");
        Assert.NotNull(stat);
        Assert.Equal("snapshots/s1", stat.Value.Name);
        Assert.Equal(5, stat.Value.Size);
        Assert.InRange(stat.Value.LastModified, before, DateTimeOffset.UtcNow.AddMinutes(5));
        Assert.Null(await Storage.StatAsync("snapshots/missing"));
    }

    [Fact]
    public async Task List_filters_by_prefix_including_partial_segments()
    {
        foreach (var name in new[] { "config", "index/i1", "index/i2", "data/ab/ab1", "data/ab/ab2", "data/ac/ac1", "keys/k1" })
            await Storage.PutAsync(name, Bytes(name));
        Assert.Equal(["index/i1", "index/i2"], await NamesAsync("index/"));
        Assert.Equal(["data/ab/ab1", "data/ab/ab2", "data/ac/ac1"], await NamesAsync("data/"));
        Assert.Equal(["data/ab/ab1", "data/ab/ab2"], await NamesAsync("data/ab"));
        Assert.Equal(["data/ab/ab2"], await NamesAsync("data/ab/ab2"));
        Assert.Empty(await NamesAsync("nothing/"));
        Assert.Equal(7, (await NamesAsync("")).Count);
        var listed = await ListAsync("keys/");
        Assert.Equal("keys/k1".Length, Assert.Single(listed).Size);
    }

    [Fact]
    public async Task List_returns_every_object_across_pages()
    {
        var names = Enumerable.Range(0, 40).Select(i => $"data/{i % 4:x2}/obj{i:d3}").ToList();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (name, ct) => await Storage.PutAsync(name, Bytes(name), ct));
        Assert.Equal(names.Order(StringComparer.Ordinal), await NamesAsync("data/"));
    }

    [Fact]
    public async Task Missing_objects_throw_ObjectNotFound()
    {
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => Storage.OpenReadAsync("data/00/missing"));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => Storage.OpenReadAsync("data/00/missing", 3, 4));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => Storage.OpenReadAsync("data/00/missing", 0, 0));
    }

    [Fact]
    public async Task Empty_objects_work()
    {
        Assert.Equal(PutOutcome.Created, await Storage.PutAsync("locks/empty", ReadOnlyMemory<byte>.Empty));
        Assert.Equal(0, (await Storage.StatAsync("locks/empty"))!.Value.Size);
        Assert.Empty(await ReadAllAsync(Storage, "locks/empty"));
        Assert.Empty(await ReadAllAsync(Storage, "locks/empty", 0, 10));
        Assert.Equal(PutOutcome.AlreadyExists, await Storage.PutAsync("locks/empty", ReadOnlyMemory<byte>.Empty));
        Assert.Equal(["locks/empty"], await NamesAsync("locks/"));
    }

    public static TheoryData<string> BadNames => new()
    {
        "", "/abs", "a/../b", "..", "a\\b", "a\0b", "a//b", "./a", "dir/",
    };

    [Theory]
    [MemberData(nameof(BadNames))]
    public async Task Bad_names_are_rejected(string name)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Storage.PutAsync(name, Bytes("x")));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Storage.OpenReadAsync(name));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Storage.StatAsync(name));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Storage.DeleteAsync(name));
    }

    [Fact]
    public async Task Concurrent_puts_of_one_name_create_it_exactly_once()
    {
        // Several rounds: a check-then-rename race (as in File.Move without overwrite) loses only now and then.
        const int writers = 16, rounds = 12;
        for (int round = 0; round < rounds; round++)
        {
            var name = $"locks/contended-{round}";
            var contents = Enumerable.Range(0, writers).Select(i => Bytes($"writer {i} " + new string('x', 1000 + i))).ToArray();
            using var start = new ManualResetEventSlim();
            var tasks = contents.Select(c => Task.Run(async () =>
            {
                start.Wait();
                return await Storage.PutAsync(name, c);
            })).ToArray();
            start.Set();
            var outcomes = await Task.WhenAll(tasks);
            Assert.Single(outcomes, o => o == PutOutcome.Created);
            var winner = contents[Array.IndexOf(outcomes, PutOutcome.Created)];
            Assert.Equal(winner, await ReadAllAsync(Storage, name));
        }
        Assert.Equal(rounds, (await NamesAsync("locks/")).Count);
    }

    [Fact]
    public async Task Delete_removes_and_ignores_absent_objects()
    {
        await Storage.PutAsync("locks/l1", Bytes("lock"));
        await Storage.DeleteAsync("locks/l1");
        Assert.Null(await Storage.StatAsync("locks/l1"));
        Assert.Empty(await NamesAsync("locks/"));
        await Storage.DeleteAsync("locks/l1");
        await Storage.DeleteAsync("never/existed");
        Assert.Equal(PutOutcome.Created, await Storage.PutAsync("locks/l1", Bytes("again")));
    }

    [Fact]
    public async Task Abort_incomplete_uploads_on_a_clean_store_finds_nothing()
    {
        await Storage.PutAsync("config", Bytes("c"));
        Assert.Equal(0, await Storage.AbortIncompleteUploadsAsync(TimeSpan.FromHours(1)));
        Assert.NotNull(await Storage.StatAsync("config"));
    }

    protected async Task<List<StoredObject>> ListAsync(string prefix)
    {
        var result = new List<StoredObject>();
        await foreach (var o in Storage.ListAsync(prefix))
            result.Add(o);
        return result;
    }

    protected async Task<List<string>> NamesAsync(string prefix) =>
        (await ListAsync(prefix)).Select(o => o.Name).Order(StringComparer.Ordinal).ToList();
}

public sealed class MemoryStorageConformanceTests : StorageConformanceTests
{
    protected override Task<IMaintenanceStorage> CreateStorageAsync() => Task.FromResult<IMaintenanceStorage>(new MemoryStorage());
}

public sealed class LocalStorageConformanceTests : StorageConformanceTests
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dedup-local-" + Guid.NewGuid().ToString("N"));

    protected override Task<IMaintenanceStorage> CreateStorageAsync() => Task.FromResult<IMaintenanceStorage>(new LocalStorage(_root));

    protected override Task DestroyStorageAsync(IMaintenanceStorage storage)
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }
}
