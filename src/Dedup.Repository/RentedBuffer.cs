using System.Buffers;

namespace Dedup.Repository;

/// <summary>
/// A buffer rented from the shared pool. It is cleared when returned, because it may hold plaintext, unless the owner
/// declares it holds only stored (encrypted) bytes. Only the used length is cleared: every owner clears what it used,
/// so the rest of the array holds nothing (a 16 MiB pack read is then not followed by 16 MiB of zeroing, which was 7 %
/// of a check --read-data).
/// </summary>
public sealed class RentedBuffer : IDisposable
{
    private byte[]? _array;
    private readonly bool _clear;

    public RentedBuffer(int length) : this(length, holdsOnlyCiphertext: false) { }

    public RentedBuffer(int length, bool holdsOnlyCiphertext)
    {
        _array = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        Length = length;
        _clear = !holdsOnlyCiphertext;
    }

    public int Length { get; }
    public byte[] Array => _array ?? throw new ObjectDisposedException(nameof(RentedBuffer));
    public Span<byte> Span => Array.AsSpan(0, Length);
    public Memory<byte> Memory => Array.AsMemory(0, Length);

    public void Dispose()
    {
        var a = Interlocked.Exchange(ref _array, null);
        if (a is null) return;
        if (_clear) System.Array.Clear(a, 0, Length);
        ArrayPool<byte>.Shared.Return(a);
    }
}
