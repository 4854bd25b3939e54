using System.Runtime.CompilerServices;

namespace Dedup.Storage;

/// <summary>Bytes per second for uploads (puts) and downloads (reads); null means unlimited.</summary>
public sealed record BandwidthLimits(long? UploadBytesPerSecond, long? DownloadBytesPerSecond)
{
    public bool IsUnlimited => UploadBytesPerSecond is null && DownloadBytesPerSecond is null;
}

/// <summary>
/// Limits the bytes per second put and read through it, across every connection at once (restic's --limit-upload and
/// --limit-download): one <see cref="TokenBucket"/> per direction is shared by all calls. Reads are paced as the
/// caller consumes the stream (in slices of at most <see cref="ReadSlice"/> bytes), so a slow reader of a large object
/// is held back mid-body, not only when it opens it. A put hands its whole object to the store in one call, so it is
/// paced per object: it waits for the object's bytes before it starts, and the rate holds over any stretch longer than
/// one object's transfer. Listings and stats are not counted (they are small next to packs).
/// Compose it inside the retries and outside the concurrency limit (<c>s.WithConcurrencyLimit(n).WithBandwidthLimit(l).WithRetries()</c>):
/// retried bytes are counted, and a call waiting for its bytes holds no connection slot.
/// </summary>
public class BandwidthLimitingStorage : IStorage
{
    /// <summary>The most bytes one read passes at a time, so that pacing is smooth whatever buffer the caller offers.</summary>
    public const int ReadSlice = 64 * 1024;

    private readonly TokenBucket? _upload, _download;

    public BandwidthLimitingStorage(IStorage inner, BandwidthLimits limits, TimeProvider? clock = null)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        clock ??= TimeProvider.System;
        if (limits.UploadBytesPerSecond is { } up) _upload = new TokenBucket(up, clock);
        if (limits.DownloadBytesPerSecond is { } down) _download = new TokenBucket(down, clock);
    }

    protected IStorage Inner { get; }

    public string Location => Inner.Location;

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        PutAsync(name, data, PutHint.None, cancellationToken);

    public async Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, PutHint hint, CancellationToken cancellationToken = default)
    {
        if (_upload is not null) await _upload.TakeAsync(data.Length, cancellationToken).ConfigureAwait(false);
        return await Inner.PutAsync(name, data, hint, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        var stream = await Inner.OpenReadAsync(name, offset, length, cancellationToken).ConfigureAwait(false);
        return _download is null ? stream : new PacedReadStream(stream, _download);
    }

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) => Inner.StatAsync(name, cancellationToken);

    public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) => Inner.ListAsync(prefix, cancellationToken);

    /// <summary>A read stream that takes each slice's bytes from the shared bucket before handing them to the caller.</summary>
    private sealed class PacedReadStream(Stream inner, TokenBucket bucket) : ForwardReadStream(inner)
    {
        public override int Read(Span<byte> buffer)
        {
            int n = Inner.Read(buffer[..Math.Min(buffer.Length, ReadSlice)]);
            if (n > 0) bucket.TakeAsync(n, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await Inner.ReadAsync(buffer[..Math.Min(buffer.Length, ReadSlice)], cancellationToken).ConfigureAwait(false);
            if (n > 0) await bucket.TakeAsync(n, cancellationToken).ConfigureAwait(false);
            return n;
        }
    }
}

/// <summary><see cref="BandwidthLimitingStorage"/> over a store that can delete (deletes are not counted).</summary>
public sealed class BandwidthLimitingMaintenanceStorage(IMaintenanceStorage inner, BandwidthLimits limits, TimeProvider? clock = null)
    : BandwidthLimitingStorage(inner, limits, clock), IMaintenanceStorage
{
    public Task DeleteAsync(string name, CancellationToken cancellationToken = default) => ((IMaintenanceStorage)Inner).DeleteAsync(name, cancellationToken);

    public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
        ((IMaintenanceStorage)Inner).AbortIncompleteUploadsAsync(olderThan, cancellationToken);
}

/// <summary>
/// A token bucket shared by every caller, kept as a schedule: the time at which every byte taken so far is paid for at
/// the rate. A call appends its bytes to the schedule and waits until they are paid (the bucket may go into debt, so a
/// call larger than the bucket still passes, after its time). An idle bucket fills up to <see cref="BurstBytes"/>, no
/// more. Calls are served in the order they arrive, none is starved, and N bytes taken from idle through any number of
/// concurrent callers take (N − burst) / rate. Time comes from a <see cref="TimeProvider"/>, so tests run on a fake clock.
/// </summary>
public sealed class TokenBucket
{
    private readonly TimeProvider _clock;
    private readonly double _ticksPerByte;
    private readonly long _burstTicks;
    private readonly Lock _lock = new();
    private long _scheduleEnd; // timestamp when every byte taken so far is paid for

    public TokenBucket(long bytesPerSecond, TimeProvider clock, long? burstBytes = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerSecond, 1);
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        BytesPerSecond = bytesPerSecond;
        // One read slice, or a twentieth of a second's worth at high rates: small enough that the measured rate is the
        // configured one, large enough that a fast link is not held back by the timer's resolution.
        BurstBytes = burstBytes ?? Math.Max(BandwidthLimitingStorage.ReadSlice, bytesPerSecond / 20);
        _ticksPerByte = (double)clock.TimestampFrequency / bytesPerSecond;
        _burstTicks = (long)(BurstBytes * _ticksPerByte);
        _scheduleEnd = clock.GetTimestamp() - _burstTicks;
    }

    public long BytesPerSecond { get; }
    public long BurstBytes { get; }

    /// <summary>Takes <paramref name="bytes"/> from the bucket, waiting as long as the rate requires.</summary>
    public ValueTask TakeAsync(long bytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long now, readyAt;
        lock (_lock)
        {
            now = _clock.GetTimestamp();
            // An idle bucket holds at most the burst: the schedule never lags now by more than the burst's time.
            long start = Math.Max(_scheduleEnd, now - _burstTicks);
            readyAt = _scheduleEnd = start + (long)Math.Ceiling(bytes * _ticksPerByte);
        }
        if (readyAt <= now) return ValueTask.CompletedTask;
        var wait = TimeSpan.FromSeconds((double)(readyAt - now) / _clock.TimestampFrequency);
        return new ValueTask(Task.Delay(wait, _clock, cancellationToken));
    }
}
