using System.Diagnostics;
using Dedup.Storage;
using Dedup.TestKit;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Dedup.Tests.Storage;

/// <summary>
/// The bandwidth limiter: on a fake clock, bytes through several parallel streams take bytes / rate of simulated time
/// (±15 %), reads are paced as the caller consumes them, and puts are paced per object; on the real clock against a
/// local store, elapsed time is at least what the rate implies (no upper bound: a loaded machine may be slower).
/// </summary>
public class BandwidthLimitTests
{
    private const long Rate = 1024 * 1024; // 1 MiB/s
    private const int Streams = 4;
    private const int ObjectSize = 2 * 1024 * 1024; // 8 MiB in all: 8 s at 1 MiB/s

    [Fact]
    public async Task Downloads_through_parallel_streams_take_bytes_over_rate_of_simulated_time()
    {
        var clock = new SteppedClock();
        var store = new MemoryStorage();
        for (int i = 0; i < Streams; i++) await store.PutAsync($"data/{i}", DataGen.RandomBytes(i, ObjectSize));
        var limited = store.WithBandwidthLimit(new BandwidthLimits(null, Rate), clock);

        var start = clock.GetUtcNow();
        var finished = new DateTimeOffset[Streams];
        var readers = Enumerable.Range(0, Streams).Select(i => Task.Run(async () =>
        {
            await using var s = await limited.OpenReadAsync($"data/{i}");
            var buffer = new byte[1 << 20];
            long total = 0;
            int n;
            while ((n = await s.ReadAsync(buffer)) > 0) total += n;
            Assert.Equal(ObjectSize, total);
            finished[i] = clock.GetUtcNow();
        })).ToArray();
        int maxWaiting = await clock.RunUntilDoneAsync(readers);

        var simulated = finished.Max() - start;
        var expected = TimeSpan.FromSeconds((double)Streams * ObjectSize / Rate);
        Assert.InRange(simulated.TotalSeconds, expected.TotalSeconds * 0.85, expected.TotalSeconds * 1.15);
        Assert.True(maxWaiting >= 2, $"the streams never waited at the same time (at most {maxWaiting}): the test did not exercise sharing");
        // Shared, not per stream: each stream alone got about a quarter of the rate, so all finish near the end.
        Assert.All(finished, f => Assert.True(f - start > expected * 0.7, $"a stream finished at {(f - start).TotalSeconds:0.00} s of {expected.TotalSeconds} s"));
    }

    [Fact]
    public async Task Uploads_through_parallel_puts_take_bytes_over_rate_of_simulated_time()
    {
        var clock = new SteppedClock();
        var store = new MemoryStorage();
        var limited = store.WithBandwidthLimit(new BandwidthLimits(Rate, null), clock);
        var start = clock.GetUtcNow();
        var finished = new DateTimeOffset[Streams * 4];
        var writers = Enumerable.Range(0, Streams).Select(w => Task.Run(async () =>
        {
            for (int j = 0; j < 4; j++)
            {
                Assert.Equal(PutOutcome.Created, await limited.PutAsync($"data/{w}-{j}", DataGen.RandomBytes(w * 10 + j, ObjectSize / 4)));
                finished[w * 4 + j] = clock.GetUtcNow();
            }
        })).ToArray();
        int maxWaiting = await clock.RunUntilDoneAsync(writers);

        var simulated = finished.Max() - start;
        var expected = (double)Streams * ObjectSize / Rate;
        Assert.InRange(simulated.TotalSeconds, expected * 0.85, expected * 1.15);
        Assert.True(maxWaiting >= 2, $"the puts never waited at the same time (at most {maxWaiting})");
        Assert.Equal(Streams * 4, (await ToListAsync(store.ListAsync("data/"))).Count);
    }

    [Fact]
    public async Task A_read_is_paced_as_the_caller_consumes_the_stream_not_only_when_it_opens()
    {
        var clock = new SteppedClock();
        var store = new MemoryStorage();
        await store.PutAsync("data/x", new byte[1024 * 1024]);
        var limited = store.WithBandwidthLimit(new BandwidthLimits(null, 256 * 1024), clock);

        // Opening costs nothing: the store hands over a stream at once, with no simulated time passed.
        var open = limited.OpenReadAsync("data/x");
        Assert.True(open.IsCompletedSuccessfully);
        await using var stream = await open;
        var buffer = new byte[1024 * 1024];
        // The first slice is within the burst; the next one must wait for the clock.
        Assert.Equal(BandwidthLimitingStorage.ReadSlice, await stream.ReadAsync(buffer));
        var second = stream.ReadAsync(buffer).AsTask();
        Assert.False(second.IsCompleted, "the second slice came without waiting: reads are not paced mid-body");
        clock.Advance(TimeSpan.FromMilliseconds(200));
        Assert.False(second.IsCompleted, "64 KiB at 256 KiB/s came in less than 250 ms");
        clock.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Equal(BandwidthLimitingStorage.ReadSlice, await second);
        // The rest: 1 MiB in all at 256 KiB/s is 4 s, less the burst.
        var rest = Task.Run(async () =>
        {
            long total = 2 * BandwidthLimitingStorage.ReadSlice;
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0) total += n;
            return total;
        });
        await clock.RunUntilDoneAsync([rest]);
        Assert.Equal(1024 * 1024, await rest);
        Assert.InRange(clock.Elapsed.TotalSeconds, 4 * 0.85, 4 * 1.15);
    }

    [Fact]
    public async Task Against_a_local_store_transfers_take_at_least_what_the_rate_implies()
    {
        using var dir = new TempDir();
        var store = new LocalStorage(dir.Path);
        const long up = 4 * 1024 * 1024, down = 8 * 1024 * 1024;
        var limited = store.WithBandwidthLimit(new BandwidthLimits(up, down));
        var objects = Enumerable.Range(0, Streams).Select(i => DataGen.RandomBytes(100 + i, ObjectSize)).ToArray();

        var watch = Stopwatch.StartNew();
        await Task.WhenAll(objects.Select((o, i) => limited.PutAsync($"data/{i}", o)));
        var putTime = watch.Elapsed;

        watch.Restart();
        var read = await Task.WhenAll(Enumerable.Range(0, Streams).Select(async i =>
        {
            await using var s = await limited.OpenReadAsync($"data/{i}");
            using var ms = new MemoryStream();
            await s.CopyToAsync(ms);
            return ms.ToArray();
        }));
        var readTime = watch.Elapsed;

        for (int i = 0; i < Streams; i++) Assert.Equal(objects[i], read[i]);
        long total = (long)Streams * ObjectSize; // 8 MiB: at least ~2 s up and ~1 s down, less one burst
        var bucketUp = new TokenBucket(up, TimeProvider.System);
        var bucketDown = new TokenBucket(down, TimeProvider.System);
        Assert.True(putTime.TotalSeconds >= (total - bucketUp.BurstBytes) / (double)up * 0.98, $"8 MiB uploaded in {putTime.TotalSeconds:0.000} s at a 4 MiB/s limit");
        Assert.True(readTime.TotalSeconds >= (total - bucketDown.BurstBytes) / (double)down * 0.98, $"8 MiB read in {readTime.TotalSeconds:0.000} s at an 8 MiB/s limit");
    }

    [Fact]
    public void An_idle_bucket_gives_at_most_one_burst_at_once()
    {
        var clock = new FakeTimeProvider();
        var bucket = new TokenBucket(1000, clock, burstBytes: 100);
        clock.Advance(TimeSpan.FromHours(1)); // idle for an hour: still only the burst is free
        Assert.True(bucket.TakeAsync(100, default).IsCompleted);
        var next = bucket.TakeAsync(100, default);
        Assert.False(next.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(next.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(next.IsCompleted);
    }

    [Fact]
    public void Unlimited_limits_leave_the_store_unwrapped()
    {
        IStorage store = new MemoryStorage();
        Assert.Same(store, store.WithBandwidthLimit(new BandwidthLimits(null, null)));
        IMaintenanceStorage admin = new MemoryStorage();
        Assert.IsAssignableFrom<IMaintenanceStorage>(admin.WithBandwidthLimit(new BandwidthLimits(1, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(0, TimeProvider.System));
    }

    private static async Task<List<StoredObject>> ToListAsync(IAsyncEnumerable<StoredObject> items)
    {
        var list = new List<StoredObject>();
        await foreach (var i in items) list.Add(i);
        return list;
    }
}

/// <summary>
/// A fake clock that knows its pending timers, so a test can advance it exactly to the next due time once every
/// worker is waiting on it: simulated time then passes as the limiter schedules it, with no real waiting.
/// </summary>
internal sealed class SteppedClock : FakeTimeProvider
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, DateTimeOffset> _due = [];
    private readonly DateTimeOffset _start;
    private int _next;

    public SteppedClock() => _start = GetUtcNow();

    public TimeSpan Elapsed => GetUtcNow() - _start;

    public int Pending
    {
        get
        {
            lock (_lock) return _due.Count;
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        // Registering with the fake clock and recording the due time happen under the lock the runner advances under:
        // otherwise the clock can move between the two, the recorded due time is stale, and the runner advances by zero
        // for ever (a hang seen under load). The lock is reentrant: Advance fires callbacks, which Forget, on its thread.
        lock (_lock)
        {
            int id = _next++;
            _due[id] = GetUtcNow() + dueTime;
            var timer = base.CreateTimer(s =>
            {
                Forget(id);
                callback(s);
            }, state, dueTime, period);
            return new Tracked(timer, () => Forget(id));
        }
    }

    private void Forget(int id)
    {
        lock (_lock) _due.Remove(id);
    }

    /// <summary>
    /// Until every task is done: wait (spinning, no sleep) until each unfinished task waits on a timer, then advance to the
    /// earliest due time. Returns the most timers seen pending at once. Fails instead of hanging if the tasks stop progressing.
    /// </summary>
    public async Task<int> RunUntilDoneAsync(IReadOnlyList<Task> tasks)
    {
        int maxPending = 0;
        while (true)
        {
            bool settled = SpinWait.SpinUntil(() => tasks.Count(t => !t.IsCompleted) == Pending, TimeSpan.FromSeconds(60));
            if (tasks.All(t => t.IsCompleted)) break;
            Assert.True(settled, "the workers neither finished nor all waited on the clock");
            lock (_lock)
            {
                maxPending = Math.Max(maxPending, _due.Count);
                var step = _due.Values.Min() - GetUtcNow();
                Advance(step > TimeSpan.Zero ? step : TimeSpan.Zero);
            }
        }
        await Task.WhenAll(tasks);
        return maxPending;
    }

    private sealed class Tracked(ITimer inner, Action disposed) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

        public void Dispose()
        {
            disposed();
            inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            disposed();
            return inner.DisposeAsync();
        }
    }
}
