using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Repository.Index;

/// <summary>
/// The sealed envelope of an index file (spec "Index"): "DDIX" | version (1) = 1 | salt (32) | sealed plaintext.
/// The plaintext is sealed under HKDF-SHA256(index key, salt, "dedup.index.v1") with a zero nonce: every
/// file has a fresh random salt and so a fresh key, which is what keeps the fixed nonce unique.
/// </summary>
public static class IndexFile
{
    private static ReadOnlySpan<byte> Magic => "DDIX"u8;
    private const int HeaderSize = 4 + 1 + 32;
    private static ReadOnlySpan<byte> Info => "dedup.index.v1"u8;

    public static byte[] Seal(IReadOnlyCollection<IndexPack> packs, RepositoryKeys keys)
    {
        using var plain = new PooledBufferWriter();
        IndexCodec.Write(plain, packs);
        var result = new byte[HeaderSize + plain.WrittenCount + Aead.TagSize];
        Magic.CopyTo(result);
        result[4] = 1;
        System.Security.Cryptography.RandomNumberGenerator.Fill(result.AsSpan(5, 32));
        using var key = Aead.DeriveSubkey(keys.IndexKey.Span, result.AsSpan(5, 32), Info);
        Aead.Seal(key.Span, stackalloc byte[Aead.NonceSize], plain.WrittenSpan, result.AsSpan(0, HeaderSize), result.AsSpan(HeaderSize));
        return result;
    }

    public static void Open(ReadOnlySpan<byte> stored, RepositoryKeys keys, string name, Action<IndexPack> onPack)
    {
        if (stored.Length < HeaderSize + Aead.TagSize || !stored[..4].SequenceEqual(Magic))
            throw new CorruptObjectException(name, "not an index file (bad magic or truncated)");
        if (stored[4] != 1) throw new CorruptObjectException(name, $"unknown index file version {stored[4]}");
        var plain = new byte[stored.Length - HeaderSize - Aead.TagSize];
        using var key = Aead.DeriveSubkey(keys.IndexKey.Span, stored.Slice(5, 32), Info);
        if (!Aead.TryOpen(key.Span, stackalloc byte[Aead.NonceSize], stored[HeaderSize..], stored[..HeaderSize], plain))
            throw new CorruptObjectException(name, "authentication failed (damaged, or written for another repository)");
        IndexCodec.Read(plain, name, onPack);
    }
}
