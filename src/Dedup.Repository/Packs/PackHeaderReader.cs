using Dedup.Crypto;
using Dedup.Format;
using Dedup.Storage;

namespace Dedup.Repository.Packs;

/// <summary>
/// What a pack's own header says about it: the blob type, the blobs in order, and the data key as its trailer
/// wraps it. <see cref="DataLength"/> is where the blobs end and the sealed header begins.
/// </summary>
public sealed record PackHeaderInfo(ObjectId PackId, BlobType Type, DomainId Domain, PackHeaderEntry[] Entries, byte[] WrappedKey, int SealedHeaderLength, long PackSize)
{
    public long DataLength => PackSize - PackLayout.TrailerSize - SealedHeaderLength;

    /// <summary>The header's entries with their implicit offsets, in the shape an index file records.</summary>
    public IndexBlob[] ToIndexBlobs()
    {
        var blobs = new IndexBlob[Entries.Length];
        long offset = 0;
        for (int i = 0; i < blobs.Length; i++)
        {
            blobs[i] = new IndexBlob(Entries[i].Id, offset, Entries[i].StoredLength, Entries[i].RawLength);
            offset += Entries[i].StoredLength;
        }
        return blobs;
    }

    public IndexPack ToIndexPack() => new(PackId, Type, WrappedKey, ToIndexBlobs());
}

/// <summary>
/// Reads a pack's header from its tail (spec "Packs"): the trailer, then the sealed header just before it, unwrapped
/// with the read key. Check compares it with the index; repair rebuilds the index from it. Every failure is a
/// <see cref="CorruptObjectException"/> naming the pack, because the bytes came from storage.
/// </summary>
public static class PackHeaderReader
{
    /// <summary>Bytes after the blobs: the sealed header's tag and the trailer. A pack is never smaller than this plus one blob.</summary>
    public static int TrailerSize => PackLayout.TrailerSize;

    /// <summary>Reads the header of a stored pack with two ranged reads. <paramref name="packSize"/> comes from a listing or stat.</summary>
    public static async Task<PackHeaderInfo> ReadAsync(IStorage storage, ObjectId packId, long packSize, ReadKey readKey, CancellationToken ct = default)
    {
        var name = Layout.Pack(packId);
        CheckSize(packSize, name);
        var trailerBytes = new byte[PackLayout.TrailerSize];
        await StoredObjects.ReadRangeAsync(storage, name, packSize - PackLayout.TrailerSize, trailerBytes, ct).ConfigureAwait(false);
        var trailer = PackLayout.ReadTrailer(trailerBytes, packSize, name);
        var sealedHeader = new byte[trailer.SealedHeaderLength];
        long headerStart = packSize - PackLayout.TrailerSize - trailer.SealedHeaderLength;
        await StoredObjects.ReadRangeAsync(storage, name, headerStart, sealedHeader, ct).ConfigureAwait(false);
        return Open(packId, trailer, sealedHeader, packSize, readKey, name);
    }

    /// <summary>Reads the header from a whole pack held in memory (check --read-data, and the fuzz target).</summary>
    public static PackHeaderInfo Parse(ReadOnlySpan<byte> pack, ObjectId packId, ReadKey readKey, string? name = null)
    {
        name ??= Layout.Pack(packId);
        CheckSize(pack.Length, name);
        var trailer = PackLayout.ReadTrailer(pack[^PackLayout.TrailerSize..], pack.Length, name);
        int headerStart = pack.Length - PackLayout.TrailerSize - trailer.SealedHeaderLength;
        return Open(packId, trailer, pack.Slice(headerStart, trailer.SealedHeaderLength), pack.Length, readKey, name);
    }

    private static void CheckSize(long packSize, string name)
    {
        if (packSize < PackLayout.TrailerSize + Aead.TagSize) throw new CorruptObjectException(name, $"truncated: {packSize} bytes is too small for a pack");
        if (packSize > Limits.MaxPackSize) throw new CorruptObjectException(name, $"{packSize} bytes is larger than any pack");
    }

    private static PackHeaderInfo Open(ObjectId packId, PackLayout.Trailer trailer, ReadOnlySpan<byte> sealedHeader, long packSize, ReadKey readKey, string name)
    {
        Span<byte> dataKey = stackalloc byte[Aead.KeySize];
        var plain = new byte[sealedHeader.Length - Aead.TagSize];
        try
        {
            if (!KeyWrap.TryUnwrap(trailer.WrappedKey, readKey, dataKey))
                throw new CorruptObjectException(name, "its data key does not unwrap (the trailer was damaged, or the pack belongs to another repository)");
            Span<byte> nonce = stackalloc byte[Aead.NonceSize];
            PackLayout.HeaderNonce(nonce);
            if (!Aead.TryOpen(dataKey, nonce, sealedHeader, PackLayout.HeaderAad, plain))
                throw new CorruptObjectException(name, "its header fails authentication (bytes were changed)");
            long dataLength = packSize - PackLayout.TrailerSize - sealedHeader.Length;
            var (type, domain, entries) = PackHeaderCodec.Read(plain, dataLength, name);
            return new PackHeaderInfo(packId, type, domain, entries, trailer.WrappedKey, sealedHeader.Length, packSize);
        }
        finally
        {
            // The key opens every blob of the pack, and the header is metadata only a reader may see.
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(dataKey);
        }
    }
}
