using System.Buffers;
using System.Security.Cryptography;
using Dedup.Crypto;
using Dedup.Format;
using K4os.Compression.LZ4;

namespace Dedup.Repository.Packs;

/// <summary>Compresses and seals one blob into a destination, and the reverse. The per-blob step of spec "Packs".</summary>
internal static class BlobSealer
{
    private const int MinCompressed = 128;

    /// <summary>Room a caller must provide for sealing <paramref name="rawLength"/> bytes.</summary>
    public static int MaxSealedSize(int rawLength) => Lz4BlockCompressor.MaxOutputSize(rawLength) + Aead.TagSize;

    /// <summary>Seals in place in <paramref name="destination"/>; returns the stored length.</summary>
    public static int Seal(AesGcm gcm, BlobType type, in ObjectId id, long offset, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        // Tiny blobs are stored raw: LZ4 saves next to nothing on them, and each call clears its 16 KiB hash table
        // (a first backup of 100k tiny files spent 2 % of its CPU on that).
        int n = plaintext.Length < MinCompressed ? 0 : Lz4BlockCompressor.Compress(plaintext, destination);
        // Keep LZ4 only when it is strictly smaller: a reader knows the payload is raw exactly when its length equals the raw length.
        // A raw payload is encrypted straight from the plaintext (no copy: half of a typical data set is incompressible).
        bool raw = n <= 0 || n >= plaintext.Length;
        if (raw) n = plaintext.Length;
        Span<byte> nonce = stackalloc byte[Aead.NonceSize];
        Span<byte> aad = stackalloc byte[PackLayout.BlobAadSize];
        PackLayout.BlobNonce(offset, nonce);
        PackLayout.BlobAad(type, id, aad);
        var payload = destination[..n];
        gcm.Encrypt(nonce, raw ? plaintext : payload, payload, destination.Slice(n, Aead.TagSize), aad);
        return n + Aead.TagSize;
    }

    /// <summary>
    /// Opens a stored blob into <paramref name="output"/> (exactly rawLength bytes) and checks that its keyed hash is its ID.
    /// Throws <see cref="CorruptObjectException"/> naming <paramref name="where"/> on any mismatch.
    /// </summary>
    public static void Open(ReadOnlySpan<byte> dataKey, BlobType type, in ObjectId id, long offset, ReadOnlySpan<byte> stored,
        int rawLength, Span<byte> output, Keys.DomainKeys domain, string where)
    {
        if (stored.Length < Aead.TagSize || stored.Length - Aead.TagSize > rawLength)
            throw new CorruptObjectException(where, "stored length does not fit its raw length");
        int payloadLength = stored.Length - Aead.TagSize;
        Span<byte> nonce = stackalloc byte[Aead.NonceSize];
        Span<byte> aad = stackalloc byte[PackLayout.BlobAadSize];
        PackLayout.BlobNonce(offset, nonce);
        PackLayout.BlobAad(type, id, aad);
        var target = output[..rawLength];
        if (payloadLength == rawLength)
        {
            if (!Aead.TryOpen(dataKey, nonce, stored, aad, target)) throw new CorruptObjectException(where, "authentication failed (bytes were changed)");
        }
        else
        {
            var tmp = ArrayPool<byte>.Shared.Rent(payloadLength);
            try
            {
                if (!Aead.TryOpen(dataKey, nonce, stored, aad, tmp)) throw new CorruptObjectException(where, "authentication failed (bytes were changed)");
                int n = LZ4Codec.Decode(tmp.AsSpan(0, payloadLength), target);
                if (n != rawLength) throw new CorruptObjectException(where, "LZ4 payload does not decompress to its recorded length");
            }
            finally
            {
                tmp.AsSpan(0, payloadLength).Clear(); // compressed plaintext; only this part was written
                ArrayPool<byte>.Shared.Return(tmp);
            }
        }
        if (domain.BlobId(target) != id) throw new CorruptObjectException(where, "content does not hash to its ID");
    }
}
