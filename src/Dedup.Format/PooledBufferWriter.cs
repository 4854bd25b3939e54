using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Dedup.Format;

/// <summary>
/// A growable buffer rented from <see cref="ArrayPool{T}"/>, in the manner of dotnet/runtime's
/// PooledByteBufferWriter. It is cleared before every return to the pool, because the bytes it
/// holds are often plaintext. Also the writer of the binary encodings that <see cref="SpanReader"/> reads.
/// </summary>
public sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    public PooledBufferWriter(int initialCapacity = 4096) => _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 256));

    public int WrittenCount => _written;
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Clear()
    {
        _buffer.AsSpan(0, _written).Clear();
        _written = 0;
    }

    public void Advance(int count)
    {
        if (count < 0 || _written + count > _buffer.Length) throw new ArgumentOutOfRangeException(nameof(count));
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1) sizeHint = 1;
        if (_buffer.Length - _written >= sizeHint) return;
        int newSize = Math.Max(_buffer.Length * 2, checked(_written + sizeHint));
        var next = ArrayPool<byte>.Shared.Rent(newSize);
        _buffer.AsSpan(0, _written).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_buffer, clearArray: true);
        _buffer = next;
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        _written += bytes.Length;
    }

    public void WriteByte(byte b)
    {
        GetSpan(1)[0] = b;
        _written++;
    }

    public void WriteUInt32(uint v)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(GetSpan(4), v);
        _written += 4;
    }

    public void WriteInt64(long v)
    {
        BinaryPrimitives.WriteInt64LittleEndian(GetSpan(8), v);
        _written += 8;
    }

    public void WriteId(in ObjectId id)
    {
        id.WriteTo(GetSpan(ObjectId.Size));
        _written += ObjectId.Size;
    }

    public void WriteDomain(in DomainId domain)
    {
        domain.WriteTo(GetSpan(DomainId.Size));
        Advance(DomainId.Size);
    }

    public void WriteVarUInt(ulong v)
    {
        var span = GetSpan(10);
        int i = 0;
        while (v >= 0x80)
        {
            span[i++] = (byte)(v | 0x80);
            v >>= 7;
        }
        span[i++] = (byte)v;
        _written += i;
    }

    public void WriteVarInt64(long v) => WriteVarUInt((ulong)((v << 1) ^ (v >> 63)));

    public void WriteBlob(ReadOnlySpan<byte> bytes)
    {
        WriteVarUInt((ulong)bytes.Length);
        Write(bytes);
    }

    public void WriteString(string s)
    {
        int max = Encoding.UTF8.GetMaxByteCount(s.Length);
        var span = GetSpan(max + 10);
        int n = Encoding.UTF8.GetBytes(s, span[5..]);
        // Write the length varint, then move the bytes into place (length prefix size is known after encoding).
        var tmp = span.Slice(5, n);
        WriteVarUInt((ulong)n);
        tmp.CopyTo(GetSpan(n));
        _written += n;
    }

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void Dispose()
    {
        if (_buffer.Length == 0) return;
        ArrayPool<byte>.Shared.Return(_buffer, clearArray: true);
        _buffer = [];
        _written = 0;
    }
}
