using System.Security.Cryptography;
using Dedup.Crypto;
using Dedup.Format;

namespace Dedup.Repository;

/// <summary>
/// The envelope of objects sealed under the index key (index files, prune marks, backup markers):
/// magic (4) | version (1) = 1 | salt (32) | AES-256-GCM(HKDF-SHA256(index key, salt, info), nonce 0, plaintext, AAD = the 37 header bytes).
/// Each object has a fresh random salt and so a fresh key, which keeps the fixed nonce unique.
/// </summary>
internal static class SealedEnvelope
{
    public const int HeaderSize = 4 + 1 + 32;

    public static byte[] Seal(ReadOnlySpan<byte> magic, ReadOnlySpan<byte> info, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> indexKey, int trailerRoom = 0)
    {
        var result = new byte[HeaderSize + plaintext.Length + Aead.TagSize + trailerRoom];
        magic.CopyTo(result);
        result[4] = 1;
        RandomNumberGenerator.Fill(result.AsSpan(5, 32));
        using var key = Aead.DeriveSubkey(indexKey, result.AsSpan(5, 32), info);
        Aead.Seal(key.Span, stackalloc byte[Aead.NonceSize], plaintext, result.AsSpan(0, HeaderSize), result.AsSpan(HeaderSize, plaintext.Length + Aead.TagSize));
        return result;
    }

    public static byte[] Open(ReadOnlySpan<byte> stored, ReadOnlySpan<byte> magic, ReadOnlySpan<byte> info, ReadOnlySpan<byte> indexKey, string name, string kind)
    {
        if (stored.Length < HeaderSize + Aead.TagSize || !stored[..4].SequenceEqual(magic))
            throw new CorruptObjectException(name, $"not {kind} (bad magic or truncated)");
        if (stored[4] != 1) throw new CorruptObjectException(name, $"unknown {kind} version {stored[4]}");
        var plain = new byte[stored.Length - HeaderSize - Aead.TagSize];
        using var key = Aead.DeriveSubkey(indexKey, stored.Slice(5, 32), info);
        if (!Aead.TryOpen(key.Span, stackalloc byte[Aead.NonceSize], stored[HeaderSize..], stored[..HeaderSize], plain))
            throw new CorruptObjectException(name, "authentication failed (damaged, or written for another repository)");
        return plain;
    }
}
