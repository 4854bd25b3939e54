using System.Collections.Concurrent;
using Dedup.Crypto;
using Dedup.Format;

namespace Dedup.Repository.Keys;

public enum KeyKind : byte
{
    /// <summary>Can read and write everything: holds the master secret and the read key.</summary>
    Full = 0,
    /// <summary>Can back up and deduplicate within its own domain, but cannot decrypt packs or snapshots.</summary>
    WriteOnly = 1,
}

/// <summary>
/// The secrets an unlocked key file gives, split by capability (spec/repository-format.md, "Key hierarchy"):
/// a full key holds the master secret (from which every domain's keys derive), the read key and the repository signing
/// key; a write-only key holds the secret of its one domain, a signing key of its own and a certificate for it.
/// </summary>
public sealed class RepositoryKeys : IDisposable
{
    public const int SecretSize = 32;
    private readonly SecretBytes? _master;
    private readonly SecretBytes _ownSecret;
    private readonly ConcurrentDictionary<DomainId, DomainKeys> _domains = new();

    private RepositoryKeys(KeyKind kind, ObjectId repositoryId, SecretBytes? master, DomainId ownDomain, SecretBytes ownSecret,
        SigningKey signingKey, ReadKey? readKey, byte[] readPublicKey, byte[] certificate)
    {
        Kind = kind;
        RepositoryId = repositoryId;
        _master = master;
        _ownSecret = ownSecret;
        SigningKey = signingKey;
        ReadKey = readKey;
        ReadPublicKey = readPublicKey;
        Certificate = certificate;
        Own = DomainKeys.FromDomainSecret(ownDomain, ownSecret.Span);
        _domains[ownDomain] = Own;
    }

    /// <summary>A full key: every secret.</summary>
    internal static RepositoryKeys Full(ObjectId repositoryId, SecretBytes master, SigningKey repositorySigningKey, ReadKey readKey) =>
        new(KeyKind.Full, repositoryId, master, DomainId.Repository, DomainKeys.DeriveDomainSecret(master.Span, DomainId.Repository),
            repositorySigningKey, readKey, readKey.PublicKey, []);

    /// <summary>A write-only key: one domain's secret, its own signing key and the certificate binding both to a host.</summary>
    internal static RepositoryKeys WriteOnly(ObjectId repositoryId, DomainId domain, SecretBytes domainSecret, SigningKey writerKey,
        byte[] readPublicKey, byte[] certificate) =>
        new(KeyKind.WriteOnly, repositoryId, null, domain, domainSecret, writerKey, null, readPublicKey, certificate);

    public KeyKind Kind { get; }
    public ObjectId RepositoryId { get; }
    /// <summary>Signs what this key writes: snapshots, index files, backup markers (and, for full keys, certificates and marks).</summary>
    public SigningKey SigningKey { get; }
    public ReadKey? ReadKey { get; }
    public byte[] ReadPublicKey { get; }
    /// <summary>For a write-only key, the full key's certificate for its signing key; empty for full keys.</summary>
    public byte[] Certificate { get; }
    /// <summary>The domain this key backs up into: its own for a write-only key, the repository domain for full keys.</summary>
    public DomainKeys Own { get; }

    /// <summary>The master secret (full keys only), for deriving domains and named groups.</summary>
    public ReadOnlySpan<byte> MasterSecret => (_master ?? throw new MissingCapabilityException("derive other dedup domains")).Span;

    /// <summary>The secret of this key's own domain, which a write-only key file seals.</summary>
    internal ReadOnlySpan<byte> OwnDomainSecret => _ownSecret.Span;

    /// <summary>True when this key can compute the domain's blob IDs and read its index files.</summary>
    public bool CanUse(DomainId domain) => _master is not null || domain == Own.Id;

    /// <summary>The keys of a domain: derived (and cached) for a full key; only its own for a write-only key.</summary>
    public DomainKeys For(DomainId domain)
    {
        if (_domains.TryGetValue(domain, out var keys)) return keys;
        if (_master is null) throw new MissingCapabilityException("read or write another host's dedup domain");
        using var secret = DomainKeys.DeriveDomainSecret(_master.Span, domain);
        var derived = DomainKeys.FromDomainSecret(domain, secret.Span);
        if (_domains.TryAdd(domain, derived)) return derived;
        derived.Dispose();
        return _domains[domain];
    }

    /// <summary>The writer this key's certificate names (host and domain), or null for full keys and invalid certificates.</summary>
    public CertifiedWriter? Certified(byte[] repositorySigningKey) =>
        Kind == KeyKind.WriteOnly ? WriterCertificate.Verify(SigningKey.PublicKey, Certificate, repositorySigningKey) : null;

    /// <summary>The host a write-only key's certificate names (it may only write snapshots of that host); null for full keys.</summary>
    public string? CertifiedHost(byte[] repositorySigningKey) => Certified(repositorySigningKey)?.Host;

    public ReadKey RequireReadKey(string what) => ReadKey ?? throw new MissingCapabilityException(what);

    /// <summary>Fresh secrets for a new repository, with a new read key and signing key.</summary>
    internal static RepositoryKeys Generate(ObjectId repositoryId) =>
        Full(repositoryId, SecretBytes.Random(SecretSize), SigningKey.Generate(), ReadKey.Generate());

    /// <summary>A copy with its own secrets, for writing the same key under another password.</summary>
    internal RepositoryKeys Copy()
    {
        using var signing = SigningKey.ExportPrivate();
        if (Kind == KeyKind.Full)
        {
            using var read = ReadKey!.ExportPrivate();
            return Full(RepositoryId, new SecretBytes(_master!.Span), SigningKey.Import(signing.Span), ReadKey.Import(read.Span));
        }
        return WriteOnly(RepositoryId, Own.Id, new SecretBytes(_ownSecret.Span), SigningKey.Import(signing.Span), ReadPublicKey, Certificate);
    }

    /// <summary>A new write-only key for <paramref name="host"/> in <paramref name="domain"/>, certified by this full key.</summary>
    internal RepositoryKeys IssueWriteOnly(string host, DomainId domain)
    {
        RequireReadKey("create write-only keys");
        if (domain.IsRepository) throw new ArgumentException("A write-only key cannot share the full keys' domain.");
        var writer = SigningKey.Generate();
        var certificate = WriterCertificate.Issue(SigningKey, writer.PublicKey, host, domain);
        return WriteOnly(RepositoryId, domain, DomainKeys.DeriveDomainSecret(_master!.Span, domain), writer, ReadPublicKey, certificate);
    }

    public void Dispose()
    {
        foreach (var d in _domains.Values) d.Dispose();
        _master?.Dispose();
        _ownSecret.Dispose();
        SigningKey.Dispose();
        ReadKey?.Dispose();
    }
}
