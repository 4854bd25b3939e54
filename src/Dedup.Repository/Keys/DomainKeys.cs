using System.Security.Cryptography;
using System.Text;
using Dedup.Crypto;
using Dedup.Format;

namespace Dedup.Repository.Keys;

/// <summary>
/// The secrets of one dedup domain (spec "Dedup domains"): the chunker secret (chunk boundaries), the blob-ID key
/// (blob IDs, and so deduplication and content authentication) and the index key (index files). All three derive from
/// the domain secret, which derives from the repository's master secret and the domain ID. A write-only key holds one
/// domain secret and nothing from which another domain's could be computed; a full key derives any of them.
/// </summary>
public sealed class DomainKeys : IDisposable
{
    private static ReadOnlySpan<byte> DomainInfo => "dedup.domain.v2"u8;
    private static ReadOnlySpan<byte> NameLabel => "dedup.domain-name.v2"u8;

    private DomainKeys(DomainId id, SecretBytes chunker, SecretBytes blobId, SecretBytes index)
    {
        Id = id;
        ChunkerSecret = chunker;
        BlobIdKey = blobId;
        IndexKey = index;
    }

    public DomainId Id { get; }
    public SecretBytes ChunkerSecret { get; }
    public SecretBytes BlobIdKey { get; }
    public SecretBytes IndexKey { get; }

    /// <summary>The ID of a blob in this domain: HMAC-SHA256 of its plaintext under the domain's blob-ID key.</summary>
    public ObjectId BlobId(ReadOnlySpan<byte> plaintext)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(BlobIdKey.Span, plaintext, mac);
        return new ObjectId(mac);
    }

    /// <summary>domain secret = HKDF-SHA256(ikm = master secret, salt = domain ID, info = "dedup.domain.v2").</summary>
    public static SecretBytes DeriveDomainSecret(ReadOnlySpan<byte> masterSecret, DomainId domain)
    {
        Span<byte> salt = stackalloc byte[DomainId.Size];
        domain.WriteTo(salt);
        return Aead.DeriveSubkey(masterSecret, salt, DomainInfo);
    }

    /// <summary>The three keys of a domain from its secret: HKDF(domain secret, no salt, "dedup.domain.{chunker,blob-id,index}.v2").</summary>
    public static DomainKeys FromDomainSecret(DomainId domain, ReadOnlySpan<byte> domainSecret) =>
        new(domain,
            Aead.DeriveSubkey(domainSecret, [], "dedup.domain.chunker.v2"u8),
            Aead.DeriveSubkey(domainSecret, [], "dedup.domain.blob-id.v2"u8),
            Aead.DeriveSubkey(domainSecret, [], "dedup.domain.index.v2"u8));

    /// <summary>
    /// The domain of a name the admin chose ("web" for a group of web servers that may share deduplication):
    /// the first 16 bytes of HMAC-SHA256(master secret, "dedup.domain-name.v2" ‖ UTF-8 name). Stable, so the admin can
    /// add a key to an existing group by its name; unguessable without the master secret.
    /// </summary>
    public static DomainId NamedDomain(ReadOnlySpan<byte> masterSecret, string name)
    {
        if (string.IsNullOrEmpty(name) || Encoding.UTF8.GetByteCount(name) > 255)
            throw new ArgumentException("A dedup group's name must be 1 to 255 bytes.");
        var message = new byte[NameLabel.Length + Encoding.UTF8.GetByteCount(name)];
        NameLabel.CopyTo(message);
        Encoding.UTF8.GetBytes(name, message.AsSpan(NameLabel.Length));
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(masterSecret, message, mac);
        var id = new DomainId(mac[..DomainId.Size]);
        // The repository domain is reserved for full keys; a name mapping to it is astronomically unlikely but refused.
        return id.IsRepository ? throw new ArgumentException("Choose another group name.") : id;
    }

    /// <summary>A fresh random domain: the default for a write-only key, which then shares deduplication with no one.</summary>
    public static DomainId RandomDomain()
    {
        Span<byte> b = stackalloc byte[DomainId.Size];
        do RandomNumberGenerator.Fill(b); while (b.IndexOfAnyExcept((byte)0) < 0);
        return new DomainId(b);
    }

    public void Dispose()
    {
        ChunkerSecret.Dispose();
        BlobIdKey.Dispose();
        IndexKey.Dispose();
    }
}
