namespace Dedup.Format;

/// <summary>
/// Who vouches for a pack's contents. A full key stored it (a backup with a full key, prune's repacking, repair from
/// verified data), or a write-only writer claims it: such a claim may be false (a compromised host can claim any of
/// its own domain's blob IDs in a pack of garbage), so prune never relies on it alone to delete another copy.
/// </summary>
public enum PackOrigin : byte
{
    FullKey = 0,
    Writer = 1,
}

/// <summary>A pack as an index file describes it, with the data key wrapped to the repository read key.</summary>
public sealed record IndexPack(ObjectId PackId, BlobType Type, byte[] WrappedKey, IndexBlob[] Blobs)
{
    public PackOrigin Origin { get; init; } = PackOrigin.Writer;
}

public readonly record struct IndexBlob(ObjectId Id, long Offset, int StoredLength, int RawLength);

/// <summary>
/// The plaintext of an index file (spec/repository-format.md, "Index"): version (1 byte) = 2,
/// pack count (varint), then per pack: pack ID (32), blob type (1), origin (1), wrapped data key (113 bytes),
/// blob count (varint), then per blob: ID (32), offset (varint), stored length (varint), raw length (varint).
/// </summary>
public static class IndexCodec
{
    public const byte Version = 2;
    public const int WrappedKeySize = 113;

    public static void Write(PooledBufferWriter w, IReadOnlyCollection<IndexPack> packs)
    {
        w.WriteByte(Version);
        w.WriteVarUInt((ulong)packs.Count);
        foreach (var p in packs)
        {
            if (p.WrappedKey.Length != WrappedKeySize) throw new ArgumentException("Wrapped key has the wrong size.");
            w.WriteId(p.PackId);
            w.WriteByte((byte)p.Type);
            w.WriteByte((byte)p.Origin);
            w.Write(p.WrappedKey);
            w.WriteVarUInt((ulong)p.Blobs.Length);
            foreach (var b in p.Blobs)
            {
                w.WriteId(b.Id);
                w.WriteVarUInt((ulong)b.Offset);
                w.WriteVarUInt((ulong)b.StoredLength);
                w.WriteVarUInt((ulong)b.RawLength);
            }
        }
    }

    /// <summary>Streams the packs of an index file to <paramref name="onPack"/> without building the whole list.</summary>
    public static void Read(ReadOnlySpan<byte> plaintext, string objectName, Action<IndexPack> onPack)
    {
        var r = new SpanReader(plaintext, objectName);
        if (r.ReadByte() != Version) throw r.Corrupt("unknown index version");
        int packCount = r.ReadLength(r.Remaining / (32 + 1 + 1 + WrappedKeySize + 1), "pack count");
        for (int i = 0; i < packCount; i++)
        {
            var packId = r.ReadId();
            var type = PackHeaderCodec.ReadBlobType(ref r);
            byte origin = r.ReadByte();
            if (origin > (byte)PackOrigin.Writer) throw r.Corrupt($"unknown pack origin {origin}");
            var wrapped = r.ReadBytes(WrappedKeySize).ToArray();
            int blobCount = r.ReadLength(r.Remaining / 35, "blob count");
            var blobs = new IndexBlob[blobCount];
            for (int j = 0; j < blobCount; j++)
            {
                var id = r.ReadId();
                ulong offset = r.ReadVarUInt();
                if (offset > (ulong)Limits.MaxPackSize) throw r.Corrupt($"blob offset {offset} is beyond any pack");
                int stored = r.ReadLength(Limits.MaxBlobSize + 64, "stored length");
                int raw = r.ReadLength(Limits.MaxBlobSize, "raw length");
                PackHeaderCodec.ValidateLengths(ref r, stored, raw);
                blobs[j] = new IndexBlob(id, (long)offset, stored, raw);
            }
            onPack(new IndexPack(packId, type, wrapped, blobs) { Origin = (PackOrigin)origin });
        }
        r.ExpectEnd();
    }
}
