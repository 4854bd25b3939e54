using System.Buffers.Binary;

namespace Dedup.Format;

/// <summary>
/// A dedup domain: the scope within which blob IDs are computed, chunk boundaries drawn and index entries read
/// (spec/repository-format.md, "Dedup domains"). Every write-only key writes into one domain; full keys write into the
/// repository domain (all zero) and can derive every domain's keys. 16 bytes, compared without allocation.
/// </summary>
public readonly struct DomainId : IEquatable<DomainId>, IComparable<DomainId>
{
    public const int Size = 16;
    private readonly ulong _a, _b;

    public DomainId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size) throw new ArgumentException($"A domain ID is {Size} bytes, not {bytes.Length}.", nameof(bytes));
        _a = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
    }

    /// <summary>The domain of full keys: sixteen zero bytes.</summary>
    public static DomainId Repository => default;
    public bool IsRepository => (_a | _b) == 0;

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
    }

    public byte[] ToArray()
    {
        var b = new byte[Size];
        WriteTo(b);
        return b;
    }

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[Size];
        WriteTo(b);
        return Convert.ToHexStringLower(b);
    }

    public string ToShortString() => IsRepository ? "repository" : ToString()[..8];

    public static bool TryParse(string? hex, out DomainId id)
    {
        id = default;
        if (hex is null || hex.Length != Size * 2 || hex.Any(char.IsAsciiLetterUpper)) return false;
        Span<byte> b = stackalloc byte[Size];
        if (Convert.FromHexString(hex, b, out _, out int written) != System.Buffers.OperationStatus.Done || written != Size) return false;
        id = new DomainId(b);
        return true;
    }

    public bool Equals(DomainId other) => _a == other._a && _b == other._b;
    public override bool Equals(object? obj) => obj is DomainId o && Equals(o);
    public override int GetHashCode() => HashCode.Combine(_a, _b);
    public int CompareTo(DomainId other) => _a != other._a ? _a.CompareTo(other._a) : _b.CompareTo(other._b);
    public static bool operator ==(DomainId l, DomainId r) => l.Equals(r);
    public static bool operator !=(DomainId l, DomainId r) => !l.Equals(r);
}
