using System.Security.Cryptography;
using Dedup.Crypto;
using Dedup.Format;

namespace Dedup.Repository.Keys;

public enum KeyKind : byte
{
    /// <summary>Can read and write everything: holds the read key.</summary>
    Full = 0,
    /// <summary>Can back up and deduplicate, but cannot decrypt packs or snapshots.</summary>
    WriteOnly = 1,
}

/// <summary>
/// The secrets an unlocked key file gives, split by capability (spec/repository-format.md, "Keys"):
/// the chunker secret, the blob-ID key and the index key serve every writer; the read key, which
/// unwraps data keys, only full keys hold.
/// </summary>
public sealed class RepositoryKeys : IDisposable
{
    public const int SecretSize = 32;

    internal RepositoryKeys(KeyKind kind, ObjectId repositoryId, SecretBytes chunkerSecret, SecretBytes blobIdKey,
        SecretBytes indexKey, SigningKey signingKey, ReadKey? readKey, byte[] readPublicKey, byte[] certificate)
    {
        Kind = kind;
        RepositoryId = repositoryId;
        ChunkerSecret = chunkerSecret;
        BlobIdKey = blobIdKey;
        IndexKey = indexKey;
        SigningKey = signingKey;
        ReadKey = readKey;
        ReadPublicKey = readPublicKey;
        Certificate = certificate;
    }

    public KeyKind Kind { get; }
    public ObjectId RepositoryId { get; }
    public SecretBytes ChunkerSecret { get; }
    public SecretBytes BlobIdKey { get; }
    public SecretBytes IndexKey { get; }
    /// <summary>Signs the snapshots this key writes.</summary>
    public SigningKey SigningKey { get; }
    public ReadKey? ReadKey { get; }
    public byte[] ReadPublicKey { get; }
    /// <summary>For a write-only key, the full key's signature over its signing key; empty for full keys.</summary>
    public byte[] Certificate { get; }

    /// <summary>The host a write-only key's certificate names (it may only write snapshots of that host); null for full keys.</summary>
    public string? CertifiedHost(byte[] repositorySigningKey) =>
        Kind == KeyKind.WriteOnly ? WriterCertificate.Verify(SigningKey.PublicKey, Certificate, repositorySigningKey) : null;

    /// <summary>The ID of a blob: HMAC-SHA256 of its plaintext under the blob-ID key.</summary>
    public ObjectId BlobId(ReadOnlySpan<byte> plaintext)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(BlobIdKey.Span, plaintext, mac);
        return new ObjectId(mac);
    }

    public ReadKey RequireReadKey(string what) => ReadKey ?? throw new MissingCapabilityException(what);

    /// <summary>Fresh secrets for a new repository, with a new read key and signing key.</summary>
    internal static RepositoryKeys Generate(ObjectId repositoryId)
    {
        var read = ReadKey.Generate();
        return new RepositoryKeys(KeyKind.Full, repositoryId, SecretBytes.Random(SecretSize), SecretBytes.Random(SecretSize),
            SecretBytes.Random(SecretSize), SigningKey.Generate(), read, read.PublicKey, []);
    }

    public void Dispose()
    {
        ChunkerSecret.Dispose();
        BlobIdKey.Dispose();
        IndexKey.Dispose();
        SigningKey.Dispose();
        ReadKey?.Dispose();
    }
}
