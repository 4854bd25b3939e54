using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Mount;
using Dedup.Repository;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dedup.Tests.Mount;

/// <summary>Blobs held in memory, with counts of what was read and a gate a test can hold loads at.</summary>
internal sealed class FakeBlobSource : IBlobSource
{
    private readonly Dictionary<ObjectId, byte[]> _blobs = new();
    private readonly ConcurrentDictionary<ObjectId, int> _loads = new();

    public static ObjectId IdOf(int i) => ObjectId.HashOf(BitConverter.GetBytes(i));

    public ObjectId Add(int i, byte[] content)
    {
        var id = IdOf(i);
        _blobs[id] = content;
        return id;
    }

    /// <summary>When set, each load waits for it.</summary>
    public Task? Gate { get; set; }

    /// <summary>When set, loads of this blob fail (once per value set).</summary>
    public ObjectId? FailOnce { get; set; }

    /// <summary>Every buffer handed out, to see when the cache returns them.</summary>
    public ConcurrentQueue<RentedBuffer> HandedOut { get; } = new();

    public int Loads(ObjectId id) => _loads.GetValueOrDefault(id);
    public int TotalLoads => _loads.Values.Sum();

    public int RawLength(BlobKey blob) => _blobs[blob.Id].Length;

    public async Task<RentedBuffer> ReadAsync(BlobKey blob, CancellationToken ct)
    {
        var id = blob.Id;
        if (Gate is { } gate) await gate.WaitAsync(ct);
        else await Task.Yield();
        _loads.AddOrUpdate(id, 1, (_, n) => n + 1);
        if (FailOnce == id)
        {
            FailOnce = null;
            throw new IOException("the store did not answer");
        }
        var content = _blobs[id];
        var buffer = new RentedBuffer(content.Length);
        content.CopyTo(buffer.Span);
        HandedOut.Enqueue(buffer);
        return buffer;
    }
}

public sealed class BlobCacheTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(1);

    private static byte[] Bytes(int seed, int length)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Fact]
    public async Task ConcurrentReaders_OfOneBlob_ShareOneLoad()
    {
        var source = new FakeBlobSource();
        var id = source.Add(1, Bytes(1, 100_000));
        var gate = new TaskCompletionSource();
        source.Gate = gate.Task;
        var cache = new BlobCache(source, 10 << 20, CancellationToken.None);
        var leases = Enumerable.Range(0, 16).Select(_ => Task.Run(() => cache.LeaseAsync(new BlobKey(default, id), CancellationToken.None))).ToArray();
        gate.SetResult();
        foreach (var lease in await Task.WhenAll(leases).WaitAsync(Bound))
            using (lease)
                Assert.Equal(100_000, lease.Length);
        Assert.Equal(1, source.Loads(id));
    }

    [Fact]
    public async Task HeldBytes_StayWithinTheBudget_AndTheLeastRecentlyUsedGoFirst()
    {
        var source = new FakeBlobSource();
        var ids = Enumerable.Range(0, 50).Select(i => source.Add(i, Bytes(i, 100_000))).ToArray();
        const long budget = 1_000_000;
        const int pooled = 131_072; // the pooled array holding a 100,000-byte blob, which is what the budget counts
        var cache = new BlobCache(source, budget, CancellationToken.None);
        foreach (var id in ids)
        {
            using var lease = await cache.LeaseAsync(new BlobKey(default, id), CancellationToken.None);
            Assert.True(cache.CachedBytes <= budget, $"{cache.CachedBytes} bytes held, budget {budget}");
        }
        Assert.True(cache.CachedBytes > budget - pooled, "the cache should fill its budget");
        // The newest blobs are still there; the oldest were dropped and load again.
        using (await cache.LeaseAsync(new BlobKey(default, ids[^1]), CancellationToken.None)) { }
        using (await cache.LeaseAsync(new BlobKey(default, ids[0]), CancellationToken.None)) { }
        Assert.Equal(1, source.Loads(ids[^1]));
        Assert.Equal(2, source.Loads(ids[0]));
        // Every dropped buffer went back to the pool (reading it now fails), and every kept one is still readable.
        var returned = source.HandedOut.Count(b => Throws(() => _ = b.Array));
        Assert.Equal(source.TotalLoads - (int)(cache.CachedBytes / pooled), returned);
    }

    [Fact]
    public async Task ALeasedBlob_OutlivesItsEviction_AndIsReturnedWhenTheLastLeaseEnds()
    {
        var source = new FakeBlobSource();
        var content = Bytes(7, 300_000);
        var first = source.Add(0, content);
        var others = Enumerable.Range(1, 10).Select(i => source.Add(i, Bytes(i, 300_000))).ToArray();
        var cache = new BlobCache(source, 600_000, CancellationToken.None);
        var lease = await cache.LeaseAsync(new BlobKey(default, first), CancellationToken.None);
        foreach (var id in others)
            using (await cache.LeaseAsync(new BlobKey(default, id), CancellationToken.None)) { }
        var buffer = source.HandedOut.First();
        var copy = new byte[content.Length];
        lease.CopyTo(0, copy);
        Assert.True(copy.AsSpan().SequenceEqual(content), "a leased blob changed after the cache dropped it");
        Assert.False(Throws(() => _ = buffer.Array), "the buffer was returned while a lease held it");
        lease.Dispose();
        Assert.True(Throws(() => _ = buffer.Array), "the buffer was not returned after the last lease ended");
    }

    [Fact]
    public async Task ABlobReadToItsEnd_IsDroppedAtOnce_WhileOneReadInPartStays()
    {
        var source = new FakeBlobSource();
        var id = source.Add(1, Bytes(1, 300_000));
        var cache = new BlobCache(source, 10 << 20, CancellationToken.None);
        var piece = new byte[128 * 1024];
        for (int offset = 0; offset < 300_000; offset += piece.Length)
        {
            using var lease = await cache.LeaseAsync(new BlobKey(default, id), CancellationToken.None);
            int n = Math.Min(piece.Length, 300_000 - offset);
            Assert.True(cache.CachedBytes > 0, "a blob being read should stay cached");
            lease.CopyTo(offset, piece.AsSpan(0, n));
        }
        Assert.Equal(1, source.Loads(id));
        Assert.Equal(0, cache.CachedBytes);
        Assert.True(Throws(() => _ = source.HandedOut.Single().Array), "the dropped blob's buffer was not returned");
    }

    [Fact]
    public async Task AFailedLoad_IsNotKept()
    {
        var source = new FakeBlobSource();
        var id = source.Add(1, Bytes(1, 1000));
        source.FailOnce = id;
        var cache = new BlobCache(source, 1 << 20, CancellationToken.None);
        await Assert.ThrowsAsync<IOException>(() => cache.LeaseAsync(new BlobKey(default, id), CancellationToken.None));
        using var lease = await cache.LeaseAsync(new BlobKey(default, id), CancellationToken.None);
        Assert.Equal(1000, lease.Length);
        Assert.Equal(2, source.Loads(id));
    }

    private static bool Throws(Action a)
    {
        try
        {
            a();
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }
}

/// <summary>Reads of a file at any offset and length return exactly the bytes of its blobs laid end to end.</summary>
public sealed class SnapshotFileProperties
{
    public static Arbitrary<int[]> BlobSizes() =>
        Gen.Choose(0, 20).SelectMany(n => Gen.ArrayOf(Gen.Frequency((1, Gen.Constant(0)), (6, Gen.Choose(1, 5000))), n)).ToArbitrary();

    [Property(MaxTest = 200, Arbitrary = [typeof(SnapshotFileProperties)])]
    public bool ReadsAtAnyOffset_ReturnTheRightBytes(int[] sizes, NonNegativeInt offsetSeed, PositiveInt lengthSeed)
    {
        var (file, whole) = Build(sizes, seed: sizes.Length);
        long offset = whole.Length == 0 ? offsetSeed.Get % 10 : offsetSeed.Get % (whole.Length + 10);
        var buffer = new byte[lengthSeed.Get % 20_000 + 1];
        int n = file.ReadAsync(offset, buffer, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        int expected = (int)Math.Clamp(whole.Length - offset, 0, buffer.Length);
        return n == expected && buffer.AsSpan(0, n).SequenceEqual(whole.AsSpan((int)Math.Min(offset, whole.Length), n));
    }

    [Fact]
    public async Task SequentialPieces_LoadEachBlobOnce()
    {
        var sizes = new[] { 300_000, 0, 1_000_000, 5, 700_000 };
        var (file, whole, source) = BuildWithSource(sizes, seed: 3);
        var copy = new byte[whole.Length];
        for (int offset = 0; offset < whole.Length; offset += 128 * 1024)
            Assert.Equal(Math.Min(128 * 1024, whole.Length - offset), await file.ReadAsync(offset, copy.AsMemory(offset, Math.Min(128 * 1024, whole.Length - offset)), CancellationToken.None));
        Assert.Equal(whole, copy);
        Assert.Equal(sizes.Length, source.TotalLoads);
    }

    [Fact]
    public async Task ContentShorterThanTheRecordedSize_IsReportedAsDamage()
    {
        var source = new FakeBlobSource();
        var node = new TreeNode { Name = "f", Type = NodeType.File, Size = 150, Content = [source.Add(1, new byte[100])] };
        var file = new SnapshotFile(node, default, "/snapshots/x/f", new BlobCache(source, 1 << 20, CancellationToken.None), source);
        var e = await Assert.ThrowsAsync<CorruptObjectException>(() => file.ReadAsync(90, new byte[50], CancellationToken.None).AsTask());
        Assert.Contains("hold 100 bytes, but the snapshot records 150", e.Message);
    }

    private static (SnapshotFile File, byte[] Whole) Build(int[] sizes, int seed)
    {
        var (file, whole, _) = BuildWithSource(sizes, seed);
        return (file, whole);
    }

    private static (SnapshotFile File, byte[] Whole, FakeBlobSource Source) BuildWithSource(int[] sizes, int seed)
    {
        var source = new FakeBlobSource();
        var rng = new Random(seed);
        var ids = new List<ObjectId>();
        using var whole = new MemoryStream();
        for (int i = 0; i < sizes.Length; i++)
        {
            var b = new byte[sizes[i]];
            rng.NextBytes(b);
            ids.Add(source.Add(i, b));
            whole.Write(b);
        }
        var node = new TreeNode { Name = "f", Type = NodeType.File, Size = whole.Length, Content = ids };
        return (new SnapshotFile(node, default, "/f", new BlobCache(source, 1 << 20, CancellationToken.None), source), whole.ToArray(), source);
    }
}
