using System.Collections.Concurrent;

namespace Dedup.Repository.Packs;

/// <summary>
/// The memory a pack is built in. ArrayPool would round an 18 MiB request up to 32 MiB, so packs use their own pool
/// of exact-size arrays, keeping peak memory near (open packs + queued + uploading) × pack size. A pack buffer holds
/// plaintext only between compressing a blob into it and sealing it in place a moment later, and a failed pack is
/// cleared before reuse, so a finished pack's buffer is returned without the cost of clearing 16 MiB of ciphertext.
/// </summary>
internal sealed class PackBuffer : IDisposable
{
    private static readonly ConcurrentDictionary<int, ConcurrentBag<byte[]>> Pools = new();
    // Enough for the packs one writer keeps in flight (open per core, queued, uploading); more would only hold memory.
    private static readonly int MaxRetainedPerSize = Environment.ProcessorCount + 3;
    private byte[] _array;
    private int _written;
    private bool _holdsPlaintext;

    public PackBuffer(int capacity)
    {
        var pool = Pools.GetOrAdd(capacity, _ => []);
        _array = pool.TryTake(out var a) ? a : GC.AllocateUninitializedArray<byte>(capacity);
    }

    public int WrittenCount => _written;
    public ReadOnlySpan<byte> WrittenSpan => _array.AsSpan(0, _written);
    public ReadOnlyMemory<byte> WrittenMemory => _array.AsMemory(0, _written);

    /// <summary>Room for at least <paramref name="size"/> more bytes; grows (rarely: a header of very many tiny blobs) by copying.</summary>
    public Span<byte> GetSpan(int size)
    {
        if (_array.Length - _written < size)
        {
            var bigger = GC.AllocateUninitializedArray<byte>(Math.Max(_array.Length * 2, _written + size));
            _array.AsSpan(0, _written).CopyTo(bigger);
            ReturnArray(clear: true);
            _array = bigger;
        }
        return _array.AsSpan(_written);
    }

    public void Advance(int count) => _written += count;

    /// <summary>Called when a seal failed half way, so the buffer may hold plaintext that was never encrypted.</summary>
    public void MarkPlaintext() => _holdsPlaintext = true;

    private void ReturnArray(bool clear)
    {
        if (_array.Length == 0) return;
        if (clear) _array.AsSpan().Clear();
        var pool = Pools.GetOrAdd(_array.Length, _ => []);
        if (pool.Count < MaxRetainedPerSize) pool.Add(_array);
        _array = [];
    }

    public void Dispose()
    {
        ReturnArray(_holdsPlaintext);
        _written = 0;
    }
}
