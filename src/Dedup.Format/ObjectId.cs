using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Dedup.Format;

/// <summary>
/// A 32-byte identifier: a blob ID (keyed hash of plaintext) or an object name (SHA-256 of stored bytes).
/// Stored as four ulongs so that it is compact and compares without allocation.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct ObjectId : IEquatable<ObjectId>, IComparable<ObjectId>
{
    public const int Size = 32;
    private readonly ulong _a, _b, _c, _d;

    public ObjectId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size) throw new ArgumentException($"An ID is {Size} bytes, not {bytes.Length}.", nameof(bytes));
        // Big-endian so that ordering by the ulongs is ordering by the bytes (and by the hex text).
        _a = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    public static ObjectId Empty => default;
    public bool IsEmpty => (_a | _b | _c | _d) == 0;

    /// <summary>SHA-256 of the bytes: the name of a pack, index or snapshot.</summary>
    public static ObjectId HashOf(ReadOnlySpan<byte> data)
    {
        Span<byte> h = stackalloc byte[Size];
        SHA256.HashData(data, h);
        return new ObjectId(h);
    }

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    public byte[] ToArray()
    {
        var b = new byte[Size];
        WriteTo(b);
        return b;
    }

    /// <summary>The first 8 bytes, for hash tables. IDs are keyed hashes, but tables still mix this with a per-process seed.</summary>
    public ulong Prefix64 => _a;

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[Size];
        WriteTo(b);
        return Convert.ToHexStringLower(b);
    }

    public string ToShortString() => ToString()[..8];

    public static ObjectId Parse(string hex)
    {
        if (!TryParse(hex, out var id)) throw new FormatException($"'{hex}' is not a 64-digit hex ID.");
        return id;
    }

    public static bool TryParse(string? hex, out ObjectId id)
    {
        id = default;
        if (hex is null || hex.Length != Size * 2) return false;
        Span<byte> b = stackalloc byte[Size];
        if (Convert.FromHexString(hex, b, out _, out int written) != System.Buffers.OperationStatus.Done || written != Size) return false;
        id = new ObjectId(b);
        return true;
    }

    public bool Equals(ObjectId other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;
    public override bool Equals(object? obj) => obj is ObjectId o && Equals(o);
    public override int GetHashCode() => (int)(_a ^ (_a >> 32));
    public int CompareTo(ObjectId other)
    {
        int c = _a.CompareTo(other._a);
        if (c != 0) return c;
        c = _b.CompareTo(other._b);
        if (c != 0) return c;
        c = _c.CompareTo(other._c);
        return c != 0 ? c : _d.CompareTo(other._d);
    }
    public static bool operator ==(ObjectId l, ObjectId r) => l.Equals(r);
    public static bool operator !=(ObjectId l, ObjectId r) => !l.Equals(r);
    public static bool operator <(ObjectId l, ObjectId r) => l.CompareTo(r) < 0;
    public static bool operator >(ObjectId l, ObjectId r) => l.CompareTo(r) > 0;
    public static bool operator <=(ObjectId l, ObjectId r) => l.CompareTo(r) <= 0;
    public static bool operator >=(ObjectId l, ObjectId r) => l.CompareTo(r) >= 0;
}
