using System.Buffers;

namespace Dedup.Repository;

/// <summary>A buffer rented from the shared pool, cleared when returned because it holds plaintext.</summary>
public sealed class RentedBuffer : IDisposable
{
    private byte[]? _array;

    public RentedBuffer(int length)
    {
        _array = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        Length = length;
    }

    public int Length { get; }
    public byte[] Array => _array ?? throw new ObjectDisposedException(nameof(RentedBuffer));
    public Span<byte> Span => Array.AsSpan(0, Length);
    public Memory<byte> Memory => Array.AsMemory(0, Length);

    public void Dispose()
    {
        var a = Interlocked.Exchange(ref _array, null);
        if (a is not null) ArrayPool<byte>.Shared.Return(a, clearArray: true);
    }
}
