using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Repository.Index;
using Dedup.Storage;

namespace Dedup.Repository;

/// <summary>A blob a reader wants, in the domain it must verify under (a snapshot's blobs: the snapshot's domain only).</summary>
public readonly record struct WantedBlob(ObjectId Id, DomainId Domain);

public sealed record PackStreamerOptions
{
    /// <summary>Ranged reads at once. Memory is at most this many ranges of <see cref="MaxRangeBytes"/> (one blob, if larger).</summary>
    public int RangesInFlight { get; init; } = Math.Max(4, 2 * Environment.ProcessorCount);

    /// <summary>
    /// Neighbouring blobs of one pack closer than this are read in one request, gap included. A request costs a round
    /// trip plus the server's seek and first byte: 2–5 ms on the local Ceph server, 20–60 ms to a remote S3 region, during
    /// which a connection moves 100–300 KiB at the 50–100 MiB/s one S3 connection sustains; several connections in flight
    /// hide part of that, so a gap is read through when it is no larger than what one request's latency would cost
    /// (256 KiB, four average chunks). Egress is billed per byte: larger thresholds buy fewer requests (billed at the
    /// price of about 4 KiB of egress each) with bytes nobody wanted.
    /// </summary>
    public int GapThreshold { get; init; } = 256 * 1024;

    /// <summary>A merged range is cut at this size, so that one pack's reads run in parallel and memory stays bounded.</summary>
    public int MaxRangeBytes { get; init; } = 4 << 20;
}

/// <summary>What a <see cref="PackStreamer"/> did, for progress, benchmarks and tests (a probe, not timing).</summary>
public sealed class PackStreamerStats
{
    internal long _requests, _bytesRead, _blobsOpened, _fallbacks, _rangesInFlight, _bytesInFlight;
    private long _peakRanges, _peakBytes;
    /// <summary>Ranged GETs issued (one per merged range; resumes of a cut read are the store's and not counted).</summary>
    public long Requests => Interlocked.Read(ref _requests);
    public long BytesRead => Interlocked.Read(ref _bytesRead);
    public long BlobsOpened => Interlocked.Read(ref _blobsOpened);
    /// <summary>Blobs whose chosen copy failed and that were tried at another location.</summary>
    public long Fallbacks => Interlocked.Read(ref _fallbacks);
    /// <summary>Most range buffers held at once.</summary>
    public long PeakRangesInFlight => Interlocked.Read(ref _peakRanges);
    /// <summary>Most bytes of range buffers held at once.</summary>
    public long PeakBytesInFlight => Interlocked.Read(ref _peakBytes);

    internal void Enter(int bytes)
    {
        Raise(ref _peakRanges, Interlocked.Increment(ref _rangesInFlight));
        Raise(ref _peakBytes, Interlocked.Add(ref _bytesInFlight, bytes));
    }

    internal void Leave(int bytes)
    {
        Interlocked.Decrement(ref _rangesInFlight);
        Interlocked.Add(ref _bytesInFlight, -bytes);
    }

    private static void Raise(ref long peak, long value)
    {
        for (long p = Interlocked.Read(ref peak); value > p; p = Interlocked.Read(ref peak))
            if (Interlocked.CompareExchange(ref peak, value, p) == p) return;
    }
}

/// <summary>
/// The one read path for many blobs (restore, dump, copy, prune's repack): takes the wanted blobs, groups them by pack,
/// merges neighbouring ranges (<see cref="PackStreamerOptions.GapThreshold"/>), issues one ranged GET per merged range,
/// a bounded number at once, verifies each blob once (through <see cref="BlobReader.Open"/>: its domain's key, the data
/// key cache keyed by the wrapped key) and hands the plaintext to every consumer that wants it. A blob whose chosen copy
/// fails (does not open, the pack is missing or short) is tried at its next location, in the index's order, in a later
/// round; one that fails everywhere is reported once, with all its consumers, and every other blob is still delivered.
/// A read cut mid-body is resumed by the store's one retry layer (<see cref="RetryingStorage"/>). Errors of the store
/// itself (unreachable, access denied) end the stream. Memory: the range buffers in flight, never the number of blobs.
/// </summary>
public sealed class PackStreamer(IStorage storage, BlobReader blobs, PackStreamerOptions? options = null)
{
    private readonly PackStreamerOptions _options = options ?? new PackStreamerOptions();

    public PackStreamerStats Stats { get; } = new();

    /// <summary>Receives a verified blob's plaintext (valid only during the call) and every consumer that wants it.</summary>
    public delegate ValueTask Deliver<T>(WantedBlob blob, ReadOnlyMemory<byte> plaintext, IReadOnlyList<T> consumers, CancellationToken ct);

    /// <summary>A blob no location gave: the first location's error (the best copy's), and every consumer that wanted it.</summary>
    public delegate void Failed<T>(WantedBlob blob, Exception error, IReadOnlyList<T> consumers);

    /// <summary>Streams blobs wanted by consumers, each from every location the index knows for it in its domain, best first.</summary>
    public Task StreamAsync<T>(IEnumerable<(WantedBlob Blob, T Consumer)> wants, Deliver<T> deliver, Failed<T> failed, CancellationToken ct = default)
    {
        var items = new Dictionary<WantedBlob, Item<T>>();
        foreach (var (blob, consumer) in wants)
        {
            if (!items.TryGetValue(blob, out var item)) items[blob] = item = new Item<T>(blob, blobs.Locations(blob.Id, blob.Domain));
            item.Consumers.Add(consumer);
        }
        return RunAsync(items.Values, deliver, failed, ct);
    }

    /// <summary>
    /// Streams blobs from the given locations only, no fallback: prune's repack reads each used blob from the very pack
    /// it repacks and verifies it there (a copy elsewhere proves nothing about this pack).
    /// </summary>
    public Task StreamAtAsync<T>(IEnumerable<(ObjectId Id, BlobLocation Location, T Consumer)> wants, Deliver<T> deliver, Failed<T> failed, CancellationToken ct = default)
    {
        var items = new Dictionary<(ObjectId, int Claim, int Entry), Item<T>>();
        foreach (var (id, location, consumer) in wants)
        {
            if (!items.TryGetValue((id, location.Claim, location.Entry), out var item))
                items[(id, location.Claim, location.Entry)] = item = new Item<T>(new WantedBlob(id, location.Domain), [location]);
            item.Consumers.Add(consumer);
        }
        return RunAsync(items.Values, deliver, failed, ct);
    }

    private sealed class Item<T>(WantedBlob blob, IReadOnlyList<BlobLocation> locations)
    {
        public readonly WantedBlob Blob = blob;
        public readonly IReadOnlyList<BlobLocation> Locations = locations;
        public readonly List<T> Consumers = [];
        public int Next;
        public Exception? FirstError;
        public BlobLocation Current => Locations[Next];
    }

    private sealed record Range<T>(ObjectId Pack, long Start, int Length, List<Item<T>> Items);

    private async Task RunAsync<T>(IEnumerable<Item<T>> all, Deliver<T> deliver, Failed<T> failed, CancellationToken ct)
    {
        var pending = new List<Item<T>>();
        foreach (var item in all)
        {
            if (item.Locations.Count > 0) pending.Add(item);
            else failed(item.Blob, new BlobMissingException(item.Blob.Id), item.Consumers);
        }
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.RangesInFlight), CancellationToken = ct };
        while (pending.Count > 0)
        {
            var retry = new ConcurrentQueue<Item<T>>();
            void Miss(Item<T> item, Exception e)
            {
                item.FirstError ??= e;
                if (++item.Next < item.Locations.Count)
                {
                    Interlocked.Increment(ref Stats._fallbacks);
                    retry.Enqueue(item);
                }
                else
                {
                    failed(item.Blob, item.FirstError, item.Consumers);
                }
            }
            await Parallel.ForEachAsync(Plan(pending), parallel, (range, token) => new ValueTask(ReadRangeAsync(range, deliver, Miss, token))).ConfigureAwait(false);
            pending = [.. retry];
        }
    }

    /// <summary>Groups items by the pack of their current location (packs in order of first want) and merges ranges.</summary>
    private List<Range<T>> Plan<T>(List<Item<T>> items)
    {
        var byPack = new Dictionary<ObjectId, List<Item<T>>>();
        foreach (var item in items)
        {
            if (!byPack.TryGetValue(item.Current.PackId, out var list)) byPack[item.Current.PackId] = list = [];
            list.Add(item);
        }
        var ranges = new List<Range<T>>();
        foreach (var (pack, list) in byPack)
        {
            list.Sort((a, b) => a.Current.Offset.CompareTo(b.Current.Offset));
            long start = 0, end = 0;
            List<Item<T>>? current = null;
            foreach (var item in list)
            {
                var loc = item.Current;
                long itemEnd = loc.Offset + loc.StoredLength;
                if (current is not null && loc.Offset - end <= _options.GapThreshold && Math.Max(end, itemEnd) - start <= _options.MaxRangeBytes)
                {
                    current.Add(item);
                    end = Math.Max(end, itemEnd);
                    continue;
                }
                if (current is not null) ranges.Add(new Range<T>(pack, start, checked((int)(end - start)), current));
                current = [item];
                start = loc.Offset;
                end = itemEnd;
            }
            if (current is not null) ranges.Add(new Range<T>(pack, start, checked((int)(end - start)), current));
        }
        return ranges;
    }

    private async Task ReadRangeAsync<T>(Range<T> range, Deliver<T> deliver, Action<Item<T>, Exception> miss, CancellationToken ct)
    {
        var name = Layout.Pack(range.Pack);
        Stats.Enter(range.Length);
        try
        {
            using var stored = new RentedBuffer(range.Length, holdsOnlyCiphertext: true);
            int read;
            try
            {
                Interlocked.Increment(ref Stats._requests);
                read = await StoredObjects.ReadUpToAsync(storage, name, range.Start, stored.Memory, ct).ConfigureAwait(false);
            }
            catch (ObjectNotFoundException)
            {
                foreach (var item in range.Items) miss(item, new CorruptObjectException(name, "the pack is missing"));
                return;
            }
            Interlocked.Add(ref Stats._bytesRead, read);
            foreach (var item in range.Items)
            {
                var loc = item.Current;
                int at = (int)(loc.Offset - range.Start);
                if (at + loc.StoredLength > read)
                {
                    miss(item, new CorruptObjectException(name, $"truncated: blob {item.Blob.Id.ToShortString()} ends at offset {loc.Offset + loc.StoredLength}, the pack at {range.Start + read}"));
                    continue;
                }
                RentedBuffer plain;
                try
                {
                    plain = blobs.Open(item.Blob.Id, loc, stored.Span.Slice(at, loc.StoredLength));
                }
                catch (CorruptObjectException e)
                {
                    miss(item, e);
                    continue;
                }
                using (plain)
                {
                    Interlocked.Increment(ref Stats._blobsOpened);
                    await deliver(item.Blob, plain.Memory, item.Consumers, ct).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            Stats.Leave(range.Length);
        }
    }
}
