using System.Text;
using Dedup.Storage;
using Dedup.TestKit;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Dedup.Tests.Storage;

public sealed class RetryingStorageTests
{
    private static readonly StorageUnavailableException Transient = new("test: server busy");
    private readonly FaultyStorage _faulty = new();
    private readonly InstantTimeProvider _time = new();
    private readonly List<int> _retries = [];

    private IMaintenanceStorage Retrying(int attempts = 6) => _faulty.WithRetries(new RetryPolicy
    {
        MaxAttempts = attempts,
        TimeProvider = _time,
        OnRetry = (attempt, _, _) => _retries.Add(attempt),
    });

    [Fact]
    public async Task Transient_failures_are_retried_until_success()
    {
        _faulty.Fail("put", Transient, times: 2);
        Assert.Equal(PutOutcome.Created, await Retrying().PutAsync("a", new byte[] { 1 }));
        Assert.Equal(3, _faulty.Calls("put"));
        Assert.Equal([1, 2], _retries);
        var delays = _time.Delays.ToArray();
        Assert.Equal(2, delays.Length);
        Assert.InRange(delays[0], TimeSpan.FromSeconds(0.25), TimeSpan.FromSeconds(0.5));
        Assert.InRange(delays[1], TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Permanent_failures_are_thrown_at_once()
    {
        _faulty.Fail("delete", new StorageAccessDeniedException("test: denied") { Operation = "delete" });
        var e = await Assert.ThrowsAsync<StorageAccessDeniedException>(() => Retrying().DeleteAsync("a"));
        Assert.Equal("delete", e.Operation);
        Assert.Equal(1, _faulty.Calls("delete"));
        Assert.Empty(_retries);
        Assert.Empty(_time.Delays);
    }

    [Fact]
    public async Task Not_found_is_not_retried()
    {
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => Retrying().OpenReadAsync("missing"));
        Assert.Equal(1, _faulty.Calls("read"));
    }

    [Fact]
    public async Task Gives_up_after_the_configured_attempts()
    {
        _faulty.Fail("stat", Transient, times: 10);
        Assert.Same(Transient, await Assert.ThrowsAsync<StorageUnavailableException>(() => Retrying(attempts: 4).StatAsync("a")));
        Assert.Equal(4, _faulty.Calls("stat"));
    }

    [Fact]
    public async Task A_put_whose_lost_attempt_landed_counts_as_created()
    {
        _faulty.Fail("put", Transient, landFirst: true);
        Assert.Equal(PutOutcome.Created, await Retrying().PutAsync("a", Encoding.UTF8.GetBytes("mine")));
        Assert.Equal(2, _faulty.Calls("put"));
    }

    [Fact]
    public async Task A_put_that_finds_someone_elses_bytes_after_a_retry_is_already_exists()
    {
        _faulty.Fail("put", Transient);
        await _faulty.Inner.PutAsync("a", Encoding.UTF8.GetBytes("theirs"));
        Assert.Equal(PutOutcome.AlreadyExists, await Retrying().PutAsync("a", Encoding.UTF8.GetBytes("mine")));
    }

    [Fact]
    public async Task Cancellation_stops_retrying()
    {
        _faulty.Fail("stat", Transient, times: 10);
        using var cts = new CancellationTokenSource();
        var storage = _faulty.WithRetries(new RetryPolicy { TimeProvider = _time, OnRetry = (_, _, _) => cts.Cancel() });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => storage.StatAsync("a", cts.Token));
        Assert.Equal(1, _faulty.Calls("stat"));
    }

    [Fact]
    public async Task A_listing_that_fails_midway_restarts_without_duplicates()
    {
        for (var i = 0; i < 10; i++)
            await _faulty.Inner.PutAsync($"index/{i}", new byte[1]);
        _faulty.ListFault = Transient;
        _faulty.FailListAfter = 4;
        var names = new List<string>();
        await foreach (var o in Retrying().ListAsync("index/"))
            names.Add(o.Name);
        Assert.Equal(10, names.Count);
        Assert.Equal(10, names.Distinct().Count());
        Assert.Equal(2, _faulty.Calls("list"));
    }

    [Fact]
    public void Delays_grow_exponentially_with_jitter_and_respect_the_cap()
    {
        var policy = new RetryPolicy();
        var cases = Gen.Zip(Gen.Choose(1, 40), Gen.Choose(0, 1000)).Sample(50, 200);
        foreach (var (attempt, r) in cases)
        {
            var full = Math.Min(30_000, 500 * Math.Pow(2, attempt - 1));
            var delay = policy.DelayFor(attempt, r / 1000.0).TotalMilliseconds;
            Assert.InRange(delay, (full / 2) - 0.001, full + 0.001);
        }
    }

    [Fact]
    public void Wrapping_keeps_the_ability_to_delete_exactly_when_the_inner_store_has_it()
    {
        IStorage readOnly = new RetryingStorage(new MemoryStorage());
        Assert.IsNotAssignableFrom<IMaintenanceStorage>(readOnly.WithRetries());
        Assert.IsNotAssignableFrom<IMaintenanceStorage>(readOnly.WithConcurrencyLimit(2));
        IMaintenanceStorage maintenance = new MemoryStorage();
        Assert.IsAssignableFrom<IMaintenanceStorage>(maintenance.WithConcurrencyLimit(2).WithRetries());
    }

    private static async Task<(FaultInjectingStorage Faulty, byte[] Bytes)> CuttingStoreAsync(int keepBytes, int times)
    {
        var inner = new MemoryStorage();
        var bytes = Dedup.TestKit.DataGen.RandomBytes(5, 10_000);
        await inner.PutAsync("data/p", bytes);
        var faulty = new FaultInjectingStorage(inner);
        faulty.Add(new FaultRule { Operations = StorageOp.Read, Kind = FaultKind.FailMidStream, KeepBytes = keepBytes, Times = times });
        return (faulty, bytes);
    }

    [Fact]
    public async Task A_read_cut_mid_body_resumes_at_the_offset_reached_on_the_policy_clock()
    {
        var (faulty, bytes) = await CuttingStoreAsync(keepBytes: 1000, times: 3);
        var storage = faulty.WithRetries(new RetryPolicy { TimeProvider = _time, OnRetry = (attempt, _, _) => _retries.Add(attempt) });
        await using var s = await storage.OpenReadAsync("data/p", 500, 8000);
        using var copy = new MemoryStream();
        await s.CopyToAsync(copy);
        Assert.Equal(bytes.AsSpan(500, 8000).ToArray(), copy.ToArray());
        Assert.Equal(3, faulty.FaultsInjected);
        Assert.Equal(4, faulty.Calls(StorageOp.Read)); // the first open and three reopens at the offset reached, nothing read twice
        Assert.Equal([1, 1, 1], _retries); // each attempt got somewhere: none counts towards giving up
        Assert.Equal(3, _time.Delays.Count);
    }

    [Fact]
    public async Task A_read_that_makes_no_progress_gives_up_after_the_policy_attempts()
    {
        var (faulty, _) = await CuttingStoreAsync(keepBytes: 0, times: int.MaxValue);
        var storage = faulty.WithRetries(new RetryPolicy { MaxAttempts = 3, TimeProvider = _time });
        await using var s = await storage.OpenReadAsync("data/p");
        await Assert.ThrowsAsync<StorageUnavailableException>(() => s.CopyToAsync(Stream.Null));
        Assert.Equal(3, faulty.Calls(StorageOp.Read));
    }

}

public sealed class ConcurrencyLimitingStorageTests
{
    private sealed class SlowStorage : MemoryStorageDecorator
    {
        private int _running;

        public int MaxRunning { get; private set; }

        public override async Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default)
        {
            var now = Interlocked.Increment(ref _running);
            lock (this)
                MaxRunning = Math.Max(MaxRunning, now);
            await Task.Delay(20, cancellationToken);
            Interlocked.Decrement(ref _running);
            return null;
        }
    }

    [Fact]
    public async Task No_more_than_the_limit_run_at_once()
    {
        var slow = new SlowStorage();
        var limited = slow.WithConcurrencyLimit(3);
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => limited.StatAsync($"x{i}")));
        Assert.InRange(slow.MaxRunning, 1, 3);
    }

    [Fact]
    public async Task An_open_read_stream_holds_its_slot_until_disposed()
    {
        var memory = new MemoryStorage();
        await memory.PutAsync("a", new byte[10]);
        var limited = memory.WithConcurrencyLimit(1);
        var first = await limited.OpenReadAsync("a");
        var second = limited.OpenReadAsync("a");
        await Task.Delay(50);
        Assert.False(second.IsCompleted);
        await first.DisposeAsync();
        await using var s = await second.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(10, s.Length);
    }
}

/// <summary>Forwards everything to a <see cref="MemoryStorage"/>; tests override what they need.</summary>
internal class MemoryStorageDecorator : IMaintenanceStorage
{
    protected MemoryStorage Inner { get; } = new();
    public string Location => Inner.Location;
    public virtual Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => Inner.PutAsync(name, data, cancellationToken);
    public virtual Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default) => Inner.OpenReadAsync(name, offset, length, cancellationToken);
    public virtual Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) => Inner.StatAsync(name, cancellationToken);
    public virtual IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) => Inner.ListAsync(prefix, cancellationToken);
    public virtual Task DeleteAsync(string name, CancellationToken cancellationToken = default) => Inner.DeleteAsync(name, cancellationToken);
    public virtual Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) => Inner.AbortIncompleteUploadsAsync(olderThan, cancellationToken);
}
