using System.Security.Cryptography;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;
using Dedup.Repository.Trust;

namespace Dedup.Repository.Index;

/// <summary>What an index file says about itself before it is opened: its domain and its signer.</summary>
public sealed record IndexFileHeader(DomainId Domain, byte[] Signer, byte[] Certificate, bool SignatureValid);

/// <summary>
/// An index file (spec "Index files"), signed by its writer and sealed under its domain's index key:
/// <code>
/// "DDIX" | version (1) = 2 | domain (16) | signer block (65 + 2 + c) | salt (32)
///        | AES-256-GCM(HKDF(domain index key, salt, "dedup.index.v2"), nonce 0, plaintext, AAD = every byte before it)
///        | ECDSA signature (64) by the signer over every byte before it
/// </code>
/// Only keys of the domain (its writers and full keys) can read it; the signature says who claims what it lists, so
/// claims of unknown or revoked writers, or of a writer outside its domain, never count.
/// </summary>
public static class IndexFile
{
    private static ReadOnlySpan<byte> Magic => "DDIX"u8;
    private static ReadOnlySpan<byte> Info => "dedup.index.v2"u8;
    private const byte Version = 2;
    private const int SaltSize = 32;

    public static byte[] Seal(IReadOnlyCollection<IndexPack> packs, DomainKeys domain, RepositoryKeys signer)
    {
        if (signer.Kind == KeyKind.WriteOnly && packs.Any(p => p.Origin != PackOrigin.Writer))
            throw new InvalidOperationException("A write-only key can only claim packs as a writer.");
        using var plain = new PooledBufferWriter();
        IndexCodec.Write(plain, packs);
        using var w = new PooledBufferWriter(plain.WrittenCount + 512);
        w.Write(Magic);
        w.WriteByte(Version);
        w.WriteDomain(domain.Id);
        SignerBlock.Write(w, signer);
        var salt = w.GetSpan(SaltSize)[..SaltSize];
        RandomNumberGenerator.Fill(salt);
        using var key = Aead.DeriveSubkey(domain.IndexKey.Span, salt, Info);
        w.Advance(SaltSize);
        SignerBlock.AppendSealed(w, key.Span, plain.WrittenSpan);
        SignerBlock.AppendSignature(w, signer.SigningKey);
        return w.ToArray();
    }

    private ref struct Parts
    {
        public IndexFileHeader Header;
        public ReadOnlySpan<byte> Aad, Salt, Sealed;
    }

    private static Parts Parse(ReadOnlySpan<byte> stored, string name)
    {
        var r = new SpanReader(stored, name);
        if (!r.ReadBytes(4).SequenceEqual(Magic)) throw r.Corrupt("not an index file (bad magic)");
        if (r.ReadByte() != Version) throw r.Corrupt("unknown index file version");
        var domain = r.ReadDomain();
        var (signer, certificate) = SignerBlock.Read(ref r);
        var salt = r.ReadBytes(SaltSize);
        int aadLength = r.Position;
        if (r.Remaining < Aead.TagSize + SigningKey.SignatureSize) throw r.Corrupt("truncated");
        var sealedPart = r.ReadBytes(r.Remaining - SigningKey.SignatureSize);
        var signed = stored[..r.Position];
        var signature = r.ReadBytes(SigningKey.SignatureSize);
        return new Parts
        {
            Header = new IndexFileHeader(domain, signer, certificate, SigningKey.Verify(signer, signed, signature)),
            Aad = stored[..aadLength], Salt = salt, Sealed = sealedPart,
        };
    }

    /// <summary>The domain and signer, readable without any key; the caller weighs the signer with <see cref="TrustPolicy"/>.</summary>
    public static IndexFileHeader ReadHeader(ReadOnlySpan<byte> stored, string name) => Parse(stored, name).Header;

    /// <summary>
    /// Opens an index file of <paramref name="domain"/> (whose signer the caller has judged <paramref name="trust"/>) and
    /// streams its packs. A writer may only claim packs as a writer: a file of its that says a full key stored a pack is damaged.
    /// </summary>
    public static void Open(ReadOnlySpan<byte> stored, DomainKeys domain, SignerTrust trust, string name, Action<IndexPack> onPack)
    {
        var p = Parse(stored, name);
        if (p.Header.Domain != domain.Id) throw new CorruptObjectException(name, "it belongs to another dedup domain");
        var plain = new byte[p.Sealed.Length - Aead.TagSize];
        using (var key = Aead.DeriveSubkey(domain.IndexKey.Span, p.Salt, Info))
            if (!Aead.TryOpen(key.Span, stackalloc byte[Aead.NonceSize], p.Sealed, p.Aad, plain))
                throw new CorruptObjectException(name, "authentication failed (damaged, or not written with this domain's key)");
        IndexCodec.Read(plain, name, pack =>
        {
            if (trust != SignerTrust.Repository && pack.Origin != PackOrigin.Writer)
                throw new CorruptObjectException(name, "a writer's index file claims a pack a full key stored");
            // The format allows an offset of 2^32, the in-memory index only offsets below it (spec "Index files"): such a
            // file is damaged here, where the caller reports it, not an error that stops every command loading the index.
            foreach (var b in pack.Blobs)
                if (b.Offset > uint.MaxValue) throw new CorruptObjectException(name, $"blob offset {b.Offset} is beyond what a pack can hold");
            onPack(pack);
        });
    }
}
