using System.Buffers.Binary;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Repository.Trust;

public enum SignerTrust
{
    /// <summary>Signed by the repository's own signing key: a full key wrote it.</summary>
    Repository,
    /// <summary>Signed by a write-only key whose certificate the repository signing key made, within its domain, before any revocation.</summary>
    CertifiedWriter,
    /// <summary>Bad signature, an uncertified signer, another domain than the certificate's, or written after revocation.</summary>
    Untrusted,
}

/// <summary>Who signed an object, and how far that is trusted. <see cref="Writer"/> is set for certified writers (host and domain).</summary>
public sealed record Signer(byte[] PublicKey, SignerTrust Trust, CertifiedWriter? Writer, string? Problem)
{
    public bool IsTrusted => Trust != SignerTrust.Untrusted;

    /// <summary>A short, stable name for the signing identity: "repository" or "writer:&lt;16 hex of SHA-256(public key)&gt;".</summary>
    public string Identity => Trust == SignerTrust.Repository ? "repository" : "writer:" + Fingerprint(PublicKey);

    public static string Fingerprint(ReadOnlySpan<byte> publicKey) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(publicKey))[..16];
}

/// <summary>
/// The signer block shared by snapshots, index files and backup markers: signer public point (65) | certificate length
/// (u16 LE) | certificate (empty for the repository key).
/// </summary>
public static class SignerBlock
{
    public static void Write(PooledBufferWriter w, RepositoryKeys keys)
    {
        w.Write(keys.SigningKey.PublicKey);
        BinaryPrimitives.WriteUInt16LittleEndian(w.GetSpan(2), (ushort)keys.Certificate.Length);
        w.Advance(2);
        w.Write(keys.Certificate);
    }

    /// <summary>Appends <c>seal(key, nonce 0, plaintext, AAD = every byte written so far)</c>: the sealed part of a signed object.</summary>
    public static void AppendSealed(PooledBufferWriter w, ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext)
    {
        int aadLength = w.WrittenCount;
        var sealedPart = w.GetSpan(plaintext.Length + Aead.TagSize)[..(plaintext.Length + Aead.TagSize)];
        Aead.Seal(key, stackalloc byte[Aead.NonceSize], plaintext, w.WrittenSpan[..aadLength], sealedPart);
        w.Advance(sealedPart.Length);
    }

    /// <summary>Appends the signer's signature over every byte written so far: the last field of a signed object.</summary>
    public static void AppendSignature(PooledBufferWriter w, SigningKey signer)
    {
        Span<byte> signature = stackalloc byte[SigningKey.SignatureSize];
        signer.Sign(w.WrittenSpan, signature);
        w.Write(signature);
    }

    public static (byte[] Signer, byte[] Certificate) Read(ref SpanReader r)
    {
        var signer = r.ReadBytes(65).ToArray();
        int length = BinaryPrimitives.ReadUInt16LittleEndian(r.ReadBytes(2));
        if (length > WriterCertificate.MaxSize) throw r.Corrupt("certificate too long");
        return (signer, r.ReadBytes(length).ToArray());
    }
}

/// <summary>
/// Decides whom to believe (spec "Trust"): the repository signing key from the config, the certificates it issued,
/// and its revocations. Every reader that weighs a signed object asks this one place.
/// </summary>
public sealed class TrustPolicy(byte[] repositorySigningKey, IReadOnlyList<Revocation> revocations)
{
    public byte[] RepositorySigningKey { get; } = repositorySigningKey;
    public IReadOnlyList<Revocation> Revocations { get; } = revocations;

    /// <summary>
    /// How far to trust an object that <paramref name="signer"/> signed (<paramref name="signatureValid"/> says whether
    /// the signature verified), that claims <paramref name="domain"/>, and that the store recorded at <paramref name="storedAt"/>.
    /// A null domain means the object names none (a backup marker).
    /// </summary>
    public Signer Evaluate(byte[] signer, ReadOnlySpan<byte> certificate, bool signatureValid, DomainId? domain, DateTimeOffset storedAt)
    {
        if (!signatureValid) return new Signer(signer, SignerTrust.Untrusted, null, "its signature does not verify");
        if (signer.AsSpan().SequenceEqual(RepositorySigningKey)) return new Signer(signer, SignerTrust.Repository, null, null);
        var writer = WriterCertificate.Verify(signer, certificate, RepositorySigningKey);
        if (writer is null) return new Signer(signer, SignerTrust.Untrusted, null, "its signer holds no certificate of this repository");
        if (domain is { } d && d != writer.Domain)
            return new Signer(signer, SignerTrust.Untrusted, writer, $"writer '{writer.Host}' may only write into its own dedup domain");
        foreach (var r in Revocations)
            if (r.WriterPublicKey.AsSpan().SequenceEqual(signer) && storedAt >= r.RevokedAt)
                return new Signer(signer, SignerTrust.Untrusted, writer, $"writer '{writer.Host}' was revoked at {r.RevokedAt:u}, before this was stored");
        return new Signer(signer, SignerTrust.CertifiedWriter, writer, null);
    }
}
