using System.Buffers.Binary;
using Dedup.Crypto;
using Dedup.Format;

namespace Dedup.Repository.Packs;

/// <summary>
/// The byte layout of a pack (spec/repository-format.md, "Packs"). A pack is
/// <code>
///   blob 0 | blob 1 | … | sealed header | wrapped data key (113) | sealed header length (u32 LE) | version (1) | "DDPK"
/// </code>
/// where every blob is AES-256-GCM(data key, nonce = LE64(offset) || 0x00000000, AAD = type || blob ID) of its
/// LZ4 or raw payload, and the header is sealed under the same data key with the all-0xFF nonce, which no
/// blob offset can produce. The data key is fresh and random for every pack.
/// </summary>
internal static class PackLayout
{
    public static ReadOnlySpan<byte> Magic => "DDPK"u8;
    public const byte Version = 1;
    public const int TrailerSize = KeyWrap.WrappedSize + 4 + 1 + 4;
    public static ReadOnlySpan<byte> HeaderAad => "dedup.pack.header.v1"u8;

    public static void BlobNonce(long offset, Span<byte> nonce)
    {
        BinaryPrimitives.WriteInt64LittleEndian(nonce, offset);
        nonce[8..12].Clear();
    }

    public static void HeaderNonce(Span<byte> nonce) => nonce.Fill(0xFF);

    public static void BlobAad(BlobType type, in ObjectId id, Span<byte> aad)
    {
        aad[0] = (byte)type;
        id.WriteTo(aad[1..]);
    }

    public const int BlobAadSize = 1 + ObjectId.Size;

    public readonly record struct Trailer(byte[] WrappedKey, int SealedHeaderLength);

    public static Trailer ReadTrailer(ReadOnlySpan<byte> trailer, long packSize, string name)
    {
        if (trailer.Length != TrailerSize) throw new CorruptObjectException(name, "truncated: shorter than a pack trailer");
        if (!trailer[^4..].SequenceEqual(Magic)) throw new CorruptObjectException(name, "no pack trailer magic at the end: truncated or not a pack");
        if (trailer[^5] != Version) throw new CorruptObjectException(name, $"unknown pack version {trailer[^5]}");
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(trailer[^9..^5]);
        if (headerLength < Aead.TagSize || headerLength > Limits.MaxIndexSize || headerLength > packSize - TrailerSize)
            throw new CorruptObjectException(name, $"sealed header length {headerLength} does not fit the pack");
        return new Trailer(trailer[..KeyWrap.WrappedSize].ToArray(), (int)headerLength);
    }
}
