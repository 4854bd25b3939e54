using System.Buffers.Binary;
using System.Text;

namespace Dedup.Format;

/// <summary>
/// Reads the binary encodings of spec/repository-format.md from a span. Every read is bounds-checked
/// and failures throw <see cref="CorruptObjectException"/> naming <see cref="ObjectName"/>, so a
/// hostile length field can never cause an out-of-range read or a huge allocation.
/// </summary>
public ref struct SpanReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public SpanReader(ReadOnlySpan<byte> data, string objectName)
    {
        _data = data;
        _pos = 0;
        ObjectName = objectName;
    }

    public string ObjectName { get; }
    public readonly int Position => _pos;
    public readonly int Remaining => _data.Length - _pos;
    public readonly bool AtEnd => _pos == _data.Length;

    public readonly CorruptObjectException Corrupt(string reason) => new(ObjectName, reason);

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0 || count > Remaining) throw Corrupt($"truncated (needed {count} bytes at offset {_pos}, {Remaining} left)");
        var s = _data.Slice(_pos, count);
        _pos += count;
        return s;
    }

    public byte ReadByte() => ReadBytes(1)[0];
    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4));
    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(ReadBytes(8));
    public ObjectId ReadId() => new(ReadBytes(ObjectId.Size));
    public DomainId ReadDomain() => new(ReadBytes(DomainId.Size));

    /// <summary>Unsigned LEB128, at most 10 bytes, rejecting overlong encodings past 64 bits.</summary>
    public ulong ReadVarUInt()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = ReadByte();
            if (shift == 63 && b > 1) throw Corrupt("varint overflows 64 bits");
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                // One encoding per value: a final zero byte after the first would be an overlong (non-minimal) form.
                if (b == 0 && shift > 0) throw Corrupt("varint is not minimally encoded");
                return result;
            }
        }
        throw Corrupt("varint too long");
    }

    /// <summary>A varint that must fit in [0, max]; <paramref name="what"/> names the field in the error.</summary>
    public int ReadLength(int max, string what)
    {
        ulong v = ReadVarUInt();
        if (v > (ulong)max) throw Corrupt($"{what} {v} exceeds the limit {max}");
        return (int)v;
    }

    public long ReadVarInt64()
    {
        ulong v = ReadVarUInt();
        return (long)(v >> 1) ^ -(long)(v & 1); // zigzag
    }

    /// <summary>A length-prefixed byte string of at most <paramref name="max"/> bytes.</summary>
    public ReadOnlySpan<byte> ReadBlob(int max, string what) => ReadBytes(ReadLength(max, what + " length"));

    public string ReadString(int max, string what)
    {
        var bytes = ReadBlob(max, what);
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Corrupt($"{what} is not valid UTF-8");
        }
    }

    public readonly void ExpectEnd()
    {
        if (!AtEnd) throw Corrupt($"{Remaining} unexpected bytes after the end");
    }
}
