namespace Dedup.Format;

/// <summary>One blob as a pack header lists it. Offsets are implicit: blobs are stored back to back from offset 0.</summary>
public readonly record struct PackHeaderEntry(ObjectId Id, int StoredLength, int RawLength);

/// <summary>
/// The plaintext of a pack header (spec/repository-format.md, "Packs"):
/// version (1 byte) = 2, blob type (1 byte), dedup domain (16 bytes), count (varint), then per blob: ID (32 bytes),
/// stored length (varint), raw length (varint).
/// </summary>
public static class PackHeaderCodec
{
    public const byte Version = 2;
    /// <summary>The smallest stored blob: an empty payload plus the 16-byte GCM tag.</summary>
    public const int MinStoredLength = 16;

    public static void Write(PooledBufferWriter w, BlobType type, DomainId domain, IReadOnlyList<PackHeaderEntry> entries)
    {
        w.WriteByte(Version);
        w.WriteByte((byte)type);
        w.WriteDomain(domain);
        w.WriteVarUInt((ulong)entries.Count);
        foreach (var e in entries)
        {
            w.WriteId(e.Id);
            w.WriteVarUInt((ulong)e.StoredLength);
            w.WriteVarUInt((ulong)e.RawLength);
        }
    }

    /// <summary>Parses and validates a header; <paramref name="dataLength"/> is the byte count before the header, which the blobs must fill exactly.</summary>
    public static (BlobType Type, DomainId Domain, PackHeaderEntry[] Entries) Read(ReadOnlySpan<byte> plaintext, long dataLength, string objectName)
    {
        var r = new SpanReader(plaintext, objectName);
        if (r.ReadByte() != Version) throw r.Corrupt("unknown pack header version");
        var type = ReadBlobType(ref r);
        var domain = r.ReadDomain();
        // Each entry takes at least 34 bytes, which bounds the count by the header size.
        int count = r.ReadLength(r.Remaining / 34, "blob count");
        var entries = new PackHeaderEntry[count];
        long offset = 0;
        for (int i = 0; i < count; i++)
        {
            var id = r.ReadId();
            int stored = r.ReadLength(Limits.MaxBlobSize + 64, "stored length");
            int raw = r.ReadLength(Limits.MaxBlobSize, "raw length");
            ValidateLengths(ref r, stored, raw);
            entries[i] = new PackHeaderEntry(id, stored, raw);
            offset += stored;
        }
        r.ExpectEnd();
        if (offset != dataLength) throw r.Corrupt($"blobs cover {offset} bytes but the pack holds {dataLength}");
        return (type, domain, entries);
    }

    internal static BlobType ReadBlobType(ref SpanReader r)
    {
        byte t = r.ReadByte();
        if (t > (byte)BlobType.Tree) throw r.Corrupt($"unknown blob type {t}");
        return (BlobType)t;
    }

    /// <summary>A stored blob is its payload plus a 16-byte tag; the payload is LZ4 when shorter than the raw length, raw when equal.</summary>
    internal static void ValidateLengths(ref SpanReader r, int stored, int raw)
    {
        if (stored < MinStoredLength) throw r.Corrupt($"stored length {stored} is shorter than a GCM tag");
        if (stored - MinStoredLength > raw) throw r.Corrupt($"stored payload {stored - MinStoredLength} is longer than the raw length {raw}");
    }
}
