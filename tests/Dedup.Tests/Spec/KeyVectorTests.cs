using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Keys;
using Xunit;
using static Dedup.Tests.Spec.SpecCrypto;

namespace Dedup.Tests.Spec;

/// <summary>
/// The key hierarchy of spec/repository-format.md (format version 2) against spec/test-vectors/: dedup domain
/// derivation, writer certificates, and the config with the key files that open with it. Generators follow the spec
/// with fixed secrets, salts and nonces; loaders use the production code. Regenerate with DEDUP_WRITE_VECTORS=1 only
/// for a deliberate format change.
/// </summary>
public class KeyVectorTests
{
    private static JsonObject DomainJson(string name, string derivation, DomainId domain)
    {
        var secret = DomainSecret(Fixed.MasterSecret, domain);
        return new JsonObject
        {
            ["name"] = name,
            ["derivation"] = derivation,
            ["domainIdHex"] = J.Hex(domain.ToArray()),
            ["domainSecretHex"] = J.Hex(secret),
            ["chunkerSecretHex"] = J.Hex(DomainKey(secret, "chunker")),
            ["blobIdKeyHex"] = J.Hex(DomainKey(secret, "blob-id")),
            ["indexKeyHex"] = J.Hex(DomainKey(secret, "index")),
        };
    }

    [Fact]
    public void DomainVectors()
    {
        var v = VectorFiles.Load("domains.json", () =>
        {
            var group = DomainJson("group", "a named group: the first 16 bytes of HMAC-SHA256(key = master secret, message = \"dedup.domain-name.v2\" ‖ UTF-8 name)", Fixed.GroupDomain);
            group["groupName"] = Fixed.GroupName;
            group["groupMacHex"] = J.Hex(HMACSHA256.HashData(Fixed.MasterSecret, (byte[])[.. "dedup.domain-name.v2"u8, .. Encoding.UTF8.GetBytes(Fixed.GroupName)]));
            return new JsonObject
            {
                ["description"] = "Dedup domains. domain secret = HKDF-SHA256(ikm = master secret, salt = domain ID (16), info = \"dedup.domain.v2\", 32 bytes); chunker secret, blob-ID key and index key = HKDF-SHA256(ikm = domain secret, empty salt, info = \"dedup.domain.chunker.v2\" / \"dedup.domain.blob-id.v2\" / \"dedup.domain.index.v2\"). The all-zero ID is the repository domain, which full keys write into; a write-only key gets a random domain (fixed here) or a named group's. spec/repository-format.md, \"Key hierarchy\".",
                ["masterSecretHex"] = J.Hex(Fixed.MasterSecret),
                ["domains"] = new JsonArray(
                    DomainJson("repository", "the all-zero ID: the domain of full keys", DomainId.Repository),
                    DomainJson("random", "16 random bytes (fixed here): a write-only key's own domain by default", Fixed.WriterDomain),
                    group),
                ["invalidGroupNames"] = J.StrArray(["", new string('a', 256)]),
            };
        });

        var master = v.Bytes("masterSecretHex");
        Assert.Equal(J.Hex(Fixed.MasterSecret), J.Hex(master));
        using var full = Fixed.FullKeys();
        Assert.Equal(J.Hex(master), J.Hex(full.MasterSecret));
        var domains = v.Arr("domains").ToList();
        Assert.Equal(new[] { "repository", "random", "group" }, domains.Select(d => d.Str("name")));
        Assert.Equal(DomainId.Repository, domains[0].Domain("domainIdHex"));
        Assert.Equal(full.Own.Id, domains[0].Domain("domainIdHex"));
        foreach (var d in domains)
        {
            var id = d.Domain("domainIdHex");
            using var secret = DomainKeys.DeriveDomainSecret(master, id);
            Assert.Equal(d.Str("domainSecretHex"), J.Hex(secret.Span));
            using var fromSecret = DomainKeys.FromDomainSecret(id, secret.Span);
            foreach (var keys in new[] { fromSecret, full.For(id) })
            {
                Assert.Equal(id, keys.Id);
                Assert.Equal(d.Str("chunkerSecretHex"), J.Hex(keys.ChunkerSecret.Span));
                Assert.Equal(d.Str("blobIdKeyHex"), J.Hex(keys.BlobIdKey.Span));
                Assert.Equal(d.Str("indexKeyHex"), J.Hex(keys.IndexKey.Span));
            }

            if (id.IsRepository)
            {
                continue;
            }

            // A write-only key holding this domain's secret has exactly these keys, and no way to another domain's.
            using var writer = RepositoryKeys.WriteOnly(Fixed.RepositoryId, id, new SecretBytes(d.Bytes("domainSecretHex")), SigningKey.Import(Fixed.WriterScalar), Fixed.ReadPublic(), []);
            Assert.Equal(d.Str("blobIdKeyHex"), J.Hex(writer.Own.BlobIdKey.Span));
            foreach (var other in domains.Select(o => o.Domain("domainIdHex")).Where(o => o != id))
            {
                Assert.False(writer.CanUse(other));
                Assert.Throws<MissingCapabilityException>(() => writer.For(other));
            }

            Assert.Throws<MissingCapabilityException>(() => writer.MasterSecret.Length);
        }

        var group = domains[2];
        Assert.Equal(group.Str("domainIdHex"), group.Str("groupMacHex")[..32]);
        Assert.Equal(group.Domain("domainIdHex"), DomainKeys.NamedDomain(master, group.Str("groupName")));
        foreach (var bad in v.Arr("invalidGroupNames"))
        {
            Assert.Throws<ArgumentException>(() => DomainKeys.NamedDomain(master, bad.GetString()!));
        }
    }

    [Fact]
    public void WriterCertificateVectors()
    {
        var v = VectorFiles.Load("writer-certificate.json", () =>
        {
            var writer = Fixed.PublicOf(Fixed.WriterScalar);
            var good = Certificate(writer, "web1", Fixed.WriterDomain);
            byte[] emptyHostSigned = [0, .. Fixed.WriterDomain.ToArray()];
            byte[] badUtf8Signed = [2, 0xC3, 0x28, .. Fixed.WriterDomain.ToArray()];
            JsonObject Reject(string why, byte[] writerPublic, byte[] cert) => new() { ["why"] = why, ["writerPublicHex"] = J.Hex(writerPublic), ["hex"] = J.Hex(cert) };
            JsonObject Valid(string name, byte[] writerPublic, string host, DomainId domain)
            {
                var cert = Certificate(writerPublic, host, domain);
                return new JsonObject
                {
                    ["name"] = name,
                    ["writerPublicHex"] = J.Hex(writerPublic),
                    ["host"] = host,
                    ["domainIdHex"] = J.Hex(domain.ToArray()),
                    ["signedMessageHex"] = J.Hex([.. "dedup.writer-cert.v2"u8, .. writerPublic, .. cert[..^64]]),
                    ["certificateHex"] = J.Hex(cert),
                };
            }

            return new JsonObject
            {
                ["description"] = "Writer certificates: host length (1) | host (UTF-8, 1..255 bytes) | domain ID (16) | ECDSA P-256 signature (64, r||s, s at most n/2) by the repository signing key over \"dedup.writer-cert.v2\" ‖ writer public key (65) ‖ the bytes before the signature. The domain may not be the all-zero repository domain. rejects: certificates that are not valid for writerPublicHex. ECDSA signatures are randomized, so regenerating changes them. spec/repository-format.md, \"Writer certificates and revocations\".",
                ["repositorySigningPublicHex"] = J.Hex(Fixed.RepositorySigningPublic),
                ["certificates"] = new JsonArray(
                    Valid("writer", writer, "web1", Fixed.WriterDomain),
                    Valid("group member", Fixed.PublicOf(Fixed.Scalar("dedup.vectors.group-writer-signing-key")), "wéb2", Fixed.GroupDomain)),
                ["rejects"] = new JsonArray(
                    Reject("the zero (repository) domain", writer, Certificate(writer, "web1", DomainId.Repository)),
                    Reject("made for another writer key", Fixed.PublicOf(Fixed.StrangerScalar), good),
                    Reject("signed by another key than the repository's", writer, Certificate(writer, "web1", Fixed.WriterDomain, Fixed.StrangerScalar)),
                    Reject("signed over the v1 label", writer, [.. good[..^64], .. Sign(Fixed.RepositorySigningScalar, [.. "dedup.writer-cert.v1"u8, .. writer, .. good[..^64]])]),
                    Reject("signature with s above n/2", writer, HighS(good)),
                    Reject("empty host", writer, CertificateOver(writer, emptyHostSigned)),
                    Reject("host is not valid UTF-8", writer, CertificateOver(writer, badUtf8Signed)),
                    Reject("host length larger than the certificate", writer, [0xFF, .. good[1..]]),
                    Reject("trailing byte", writer, [.. good, 0]),
                    Reject("truncated signature", writer, good[..^1]),
                    Reject("empty", writer, [])),
            };
        });

        var repo = v.Bytes("repositorySigningPublicHex");
        Assert.Equal(J.Hex(Fixed.RepositorySigningPublic), J.Hex(repo));
        var certificates = v.Arr("certificates").ToList();
        Assert.Equal(2, certificates.Count);
        foreach (var c in certificates)
        {
            var cert = c.Bytes("certificateHex");
            var writerPublic = c.Bytes("writerPublicHex");
            var certified = WriterCertificate.Verify(writerPublic, cert, repo);
            Assert.NotNull(certified);
            Assert.Equal(c.Str("host"), certified.Host);
            Assert.Equal(c.Domain("domainIdHex"), certified.Domain);
            Assert.Equal(c.Str("signedMessageHex"), J.Hex([.. "dedup.writer-cert.v2"u8, .. writerPublic, .. cert[..^64]]));
            Assert.True(SigningKey.Verify(repo, c.Bytes("signedMessageHex"), cert.AsSpan(cert.Length - 64)));
            // The production issuer writes the same bytes up to the (randomized) signature.
            using var issuer = SigningKey.Import(Fixed.RepositorySigningScalar);
            var issued = WriterCertificate.Issue(issuer, writerPublic, c.Str("host"), c.Domain("domainIdHex"));
            Assert.Equal(J.Hex(cert[..^64]), J.Hex(issued[..^64]));
            Assert.Equal(certified, WriterCertificate.Verify(writerPublic, issued, repo));
        }

        var rejects = v.Arr("rejects").ToList();
        Assert.Equal(11, rejects.Count);
        foreach (var e in rejects)
        {
            Assert.True(WriterCertificate.Verify(e.Bytes("writerPublicHex"), e.Bytes("hex"), repo) is null, $"{e.Str("why")}: accepted");
        }

        // The issuer refuses what a reader would refuse.
        using (var issuer = SigningKey.Import(Fixed.RepositorySigningScalar))
        {
            Assert.Throws<ArgumentException>(() => WriterCertificate.Issue(issuer, Fixed.PublicOf(Fixed.WriterScalar), "", Fixed.WriterDomain));
        }
    }

    private static readonly DateTimeOffset KeyCreated = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static RepositoryConfig VectorConfig() => new()
    {
        Version = 2,
        Id = Fixed.RepositoryId.ToString(),
        Created = KeyCreated,
        ChunkerMin = 256 * 1024,
        ChunkerAverage = 1024 * 1024,
        ChunkerMax = 4 * 1024 * 1024,
        PackSize = 16 * 1024 * 1024,
        Compression = "lz4",
        ReadPublicKey = Convert.ToBase64String(Fixed.ReadPublic()),
        SigningPublicKey = Convert.ToBase64String(Fixed.RepositorySigningPublic),
    };

    /// <summary>
    /// A key file to build from the spec. The optional members bend one rule each, for the rejected files: the envelope's
    /// domain text, the payload's domain, the certificate, the payload and file versions.
    /// </summary>
    private sealed record KeyCase(string Name, KeyKind Kind, string Password, Argon2Parameters Kdf, byte[] Salt, byte[] Nonce, string Host, string User,
        byte[] SigningScalar, DomainId Domain)
    {
        public string? EnvelopeDomain { get; init; }
        public DomainId? PayloadDomain { get; init; }
        public byte[]? Certificate { get; init; }
        public int PayloadVersion { get; init; } = 2;
        public int FileVersion { get; init; } = 2;
        public string? DropMember { get; init; }
    }

    private static readonly KeyCase FullCase = new("full", KeyKind.Full, "correct horse battery staple", new Argon2Parameters(64, 2, 2),
        Fixed.Seq(0xC0, 32), Fixed.Seq(0xE0, 12), "admin", "root", Fixed.RepositorySigningScalar, DomainId.Repository);

    private static readonly KeyCase WriterCase = new("write-only", KeyKind.WriteOnly, "pässwörd \u00e9", new Argon2Parameters(32, 1, 1),
        Fixed.Seq(0xD0, 32), Fixed.Seq(0xF0, 12), "web1", "backup", Fixed.WriterScalar, Fixed.WriterDomain);

    private static readonly KeyCase GroupCase = new("write-only-group", KeyKind.WriteOnly, "group", new Argon2Parameters(16, 1, 2),
        Fixed.Seq(0x30, 32), Fixed.Seq(0x50, 12), "wéb2", "backup", Fixed.Scalar("dedup.vectors.group-writer-signing-key"), Fixed.GroupDomain);

    private static byte[] CertificateOf(KeyCase c) =>
        c.Certificate ?? (c.Kind == KeyKind.Full ? [] : Certificate(Fixed.PublicOf(c.SigningScalar), c.Host, c.Domain));

    /// <summary>
    /// The payload: version 2 | kind | repository ID | config SHA-256 | signing scalar, then for a full key the master
    /// secret and the read scalar, for a write-only key its domain, the domain secret and the certificate (varint length).
    /// </summary>
    private static byte[] Payload(KeyCase c, byte[] configBytes, byte[] certificate)
    {
        var payload = new List<byte> { (byte)c.PayloadVersion, (byte)c.Kind };
        payload.AddRange(Fixed.RepositoryId.ToArray());
        payload.AddRange(SHA256.HashData(configBytes));
        payload.AddRange(c.SigningScalar);
        if (c.Kind == KeyKind.Full)
        {
            payload.AddRange(Fixed.MasterSecret);
            payload.AddRange(Fixed.ReadScalar);
        }
        else
        {
            var domain = c.PayloadDomain ?? c.Domain;
            payload.AddRange(domain.ToArray());
            payload.AddRange(DomainSecret(Fixed.MasterSecret, domain));
            payload.AddRange(Varint((ulong)certificate.Length));
            payload.AddRange(certificate);
        }

        return payload.ToArray();
    }

    private sealed record BuiltKeyFile(byte[] FileBytes, byte[] PasswordKey, byte[] Aad, byte[] Payload, byte[] Certificate);

    private static BuiltKeyFile BuildKeyFile(KeyCase c, byte[] configBytes)
    {
        var certificate = CertificateOf(c);
        var payload = Payload(c, configBytes, certificate);
        string kind = c.Kind == KeyKind.Full ? "full" : "write-only";
        string created = KeyCreated.ToString("O");
        string signingB64 = Convert.ToBase64String(Fixed.PublicOf(c.SigningScalar));
        string domainText = c.EnvelopeDomain ?? c.Domain.ToString();
        string saltB64 = Convert.ToBase64String(c.Salt);
        // "dedup.key.v2", then every envelope field as a varint byte length and its UTF-8 bytes.
        var aad = new List<byte>(Encoding.UTF8.GetBytes("dedup.key.v2"));
        foreach (var field in new[] { kind, created, c.Host, c.User, signingB64, domainText, "argon2id", c.Kdf.MemoryKiB.ToString(), c.Kdf.Iterations.ToString(), c.Kdf.Parallelism.ToString(), saltB64 })
        {
            aad.AddRange(Str(field));
        }

        using var passwordKey = PasswordKdf.Derive(Encoding.UTF8.GetBytes(c.Password), c.Salt, c.Kdf);
        var sealedPayload = Seal(passwordKey.Span.ToArray(), c.Nonce, payload, aad.ToArray());
        var file = new JsonObject
        {
            ["version"] = c.FileVersion, ["kind"] = kind, ["created"] = created, ["host"] = c.Host, ["username"] = c.User,
            ["signing_public_key"] = signingB64, ["domain"] = domainText, ["kdf"] = "argon2id", ["memory_kib"] = c.Kdf.MemoryKiB,
            ["iterations"] = c.Kdf.Iterations, ["parallelism"] = c.Kdf.Parallelism, ["salt"] = saltB64,
            ["nonce"] = Convert.ToBase64String(c.Nonce), ["payload"] = Convert.ToBase64String(sealedPayload),
        };
        if (c.DropMember is not null)
        {
            file.Remove(c.DropMember);
        }

        var fileBytes = Encoding.UTF8.GetBytes(file.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return new BuiltKeyFile(fileBytes, passwordKey.Span.ToArray(), aad.ToArray(), payload, certificate);
    }

    private static JsonObject KeyFileJson(KeyCase c, byte[] configBytes)
    {
        var built = BuildKeyFile(c, configBytes);
        (string Host, DomainId Domain)? certified = c.Kind == KeyKind.Full ? null : (c.Host, c.Domain);
        var domainSecret = DomainSecret(Fixed.MasterSecret, c.Domain);
        return new JsonObject
        {
            ["name"] = c.Name,
            ["password"] = c.Password,
            ["argon2"] = new JsonObject { ["memoryKiB"] = c.Kdf.MemoryKiB, ["iterations"] = c.Kdf.Iterations, ["parallelism"] = c.Kdf.Parallelism },
            ["passwordKeyHex"] = J.Hex(built.PasswordKey),
            ["associatedDataHex"] = J.Hex(built.Aad),
            ["payloadPlaintextHex"] = J.Hex(built.Payload),
            ["keyFile"] = Encoding.UTF8.GetString(built.FileBytes),
            ["fileName"] = "keys/" + ObjectId.HashOf(built.FileBytes),
            ["expected"] = new JsonObject
            {
                ["kind"] = c.Kind == KeyKind.Full ? "full" : "write-only",
                ["repositoryId"] = Fixed.RepositoryId.ToString(),
                ["domainIdHex"] = J.Hex(c.Domain.ToArray()),
                ["masterSecretHex"] = c.Kind == KeyKind.Full ? J.Hex(Fixed.MasterSecret) : null,
                ["domainSecretHex"] = J.Hex(domainSecret),
                ["chunkerSecretHex"] = J.Hex(DomainKey(domainSecret, "chunker")),
                ["blobIdKeyHex"] = J.Hex(DomainKey(domainSecret, "blob-id")),
                ["indexKeyHex"] = J.Hex(DomainKey(domainSecret, "index")),
                ["signingScalarHex"] = J.Hex(c.SigningScalar),
                ["signingPublicHex"] = J.Hex(Fixed.PublicOf(c.SigningScalar)),
                ["readScalarHex"] = c.Kind == KeyKind.Full ? J.Hex(Fixed.ReadScalar) : null,
                ["readPublicHex"] = J.Hex(Fixed.ReadPublic()),
                ["certificateHex"] = J.Hex(built.Certificate),
                ["certifiedHost"] = certified?.Host,
                ["certifiedDomainHex"] = certified is null ? null : J.Hex(certified.Value.Domain.ToArray()),
            },
        };
    }

    /// <summary>Key files that Parse refuses ("parse") or that open with the right password and are then refused ("open").</summary>
    private static List<(string Why, string Stage, KeyCase Case)> KeyFileRejects()
    {
        var writerPublic = Fixed.PublicOf(WriterCase.SigningScalar);
        return
        [
            ("write-only key file whose envelope names the zero (repository) domain", "parse",
                WriterCase with { EnvelopeDomain = DomainId.Repository.ToString(), PayloadDomain = DomainId.Repository }),
            ("full key file whose envelope names another domain than the zero one", "parse", FullCase with { EnvelopeDomain = Fixed.WriterDomain.ToString() }),
            ("domain in upper-case hex", "parse", WriterCase with { EnvelopeDomain = Fixed.WriterDomain.ToString().ToUpperInvariant() }),
            ("domain of 15 bytes", "parse", WriterCase with { EnvelopeDomain = Fixed.WriterDomain.ToString()[..30] }),
            ("no domain member", "parse", WriterCase with { DropMember = "domain" }),
            ("key file version 1", "parse", WriterCase with { FileVersion = 1 }),
            ("write-only payload holding the zero (repository) domain and its secret, envelope naming the writer domain", "open",
                WriterCase with { PayloadDomain = DomainId.Repository }),
            ("envelope domain differs from the sealed payload's", "open",
                WriterCase with { EnvelopeDomain = Fixed.GroupDomain.ToString(), Certificate = Certificate(writerPublic, WriterCase.Host, Fixed.WriterDomain) }),
            ("certificate with the zero (repository) domain", "open", WriterCase with { Certificate = Certificate(writerPublic, WriterCase.Host, DomainId.Repository) }),
            ("certificate for another domain than the key's", "open", WriterCase with { Certificate = Certificate(writerPublic, WriterCase.Host, Fixed.GroupDomain) }),
            ("certificate for another host than the key file's", "open", WriterCase with { Certificate = Certificate(writerPublic, "web9", Fixed.WriterDomain) }),
            ("certificate not signed by the repository key", "open",
                WriterCase with { Certificate = Certificate(writerPublic, WriterCase.Host, Fixed.WriterDomain, Fixed.StrangerScalar) }),
            ("write-only key without a certificate", "open", WriterCase with { Certificate = [] }),
            ("payload version 1", "open", WriterCase with { PayloadVersion = 1 }),
        ];
    }

    [Fact]
    public void KeyFileVectors()
    {
        var v = VectorFiles.Load("key-file.json", () =>
        {
            var config = VectorConfig().Serialize();
            return new JsonObject
            {
                ["description"] = "The config (version 2) and three key files (full, write-only in a random domain, write-only in the named group \"web\") that open with it. Key file JSON version 2 with member \"domain\" (hex; zeros for full keys); AEAD associated data = \"dedup.key.v2\" then kind, created, host, username, signing_public_key, domain, kdf, memory_kib, iterations, parallelism, salt, each as varint length + UTF-8. Payload: version 2 | kind | repository ID | config SHA-256 | signing scalar | full: master secret, read scalar | write-only: domain ID, domain secret, certificate (varint length). Argon2 costs are tiny so the test is fast; salts and nonces are fixed here, writers MUST use fresh random ones. rejects: key files that Parse refuses (stage parse) or that open with the password and are then refused as damaged (stage open). ECDSA signatures are randomized, so regenerating changes the certificates. spec/repository-format.md, \"Config\" and \"Key files\".",
                ["config"] = Encoding.UTF8.GetString(config),
                ["configSha256"] = J.Hex(SHA256.HashData(config)),
                ["keys"] = new JsonArray(new[] { FullCase, WriterCase, GroupCase }.Select(c => (JsonNode)KeyFileJson(c, config)).ToArray()),
                ["rejects"] = new JsonArray(KeyFileRejects().Select(r => (JsonNode)new JsonObject
                {
                    ["why"] = r.Why,
                    ["stage"] = r.Stage,
                    ["password"] = r.Case.Password,
                    ["keyFile"] = Encoding.UTF8.GetString(BuildKeyFile(r.Case, config).FileBytes),
                }).ToArray()),
            };
        });

        var configBytes = Encoding.UTF8.GetBytes(v.Str("config"));
        var configHash = SHA256.HashData(configBytes);
        Assert.Equal(v.Str("configSha256"), J.Hex(configHash));
        var config = RepositoryConfig.Parse(configBytes);
        Assert.Equal(2, config.Version);
        Assert.Equal(Fixed.RepositoryId.ToString(), config.Id);
        Assert.Equal((256 * 1024, 1024 * 1024, 4 * 1024 * 1024, 16 * 1024 * 1024), (config.ChunkerMin, config.ChunkerAverage, config.ChunkerMax, config.PackSize));
        Assert.Equal("lz4", config.Compression);
        Assert.Equal(J.Hex(Fixed.ReadPublic()), J.Hex(config.ReadPublicKeyBytes));
        Assert.Equal(J.Hex(Fixed.RepositorySigningPublic), J.Hex(config.SigningPublicKeyBytes));
        // A version 1 config is a known older format, refused with its own error.
        Assert.Throws<UnsupportedFormatException>(() => RepositoryConfig.Parse(Encoding.UTF8.GetBytes(v.Str("config").Replace("\"version\": 2", "\"version\": 1", StringComparison.Ordinal))));

        var cases = v.Arr("keys").ToList();
        Assert.Equal(new[] { "full", "write-only", "write-only-group" }, cases.Select(c => c.Str("name")));
        foreach (var c in cases)
        {
            var fileBytes = Encoding.UTF8.GetBytes(c.Str("keyFile"));
            string name = c.Str("fileName");
            Assert.Equal(name, Layout.Key(ObjectId.HashOf(fileBytes)));
            var argon = c.GetProperty("argon2");
            var file = KeyFile.Parse(fileBytes, name);
            // Written as the production serializer writes it: same members, order and escapes.
            Assert.Equal(c.Str("keyFile"), Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(file, JsonOptions.Indented.KeyFile)));
            Assert.Equal((argon.Int("memoryKiB"), argon.Int("iterations"), argon.Int("parallelism")), (file.MemoryKiB, file.Iterations, file.Parallelism));
            var password = Encoding.UTF8.GetBytes(c.Str("password"));
            using (var pk = PasswordKdf.Derive(password, Convert.FromBase64String(file.Salt), file.KdfParameters))
            {
                Assert.Equal(c.Str("passwordKeyHex"), J.Hex(pk.Span));
            }

            using var keys = file.TryOpen(password, config, configHash, name);
            Assert.NotNull(keys);
            var x = c.GetProperty("expected");
            Assert.Equal(x.Str("kind"), KeyFile.KindName(keys.Kind));
            Assert.Equal(x.Str("repositoryId"), keys.RepositoryId.ToString());
            Assert.Equal(x.Domain("domainIdHex"), keys.Own.Id);
            Assert.Equal(x.Str("domainIdHex"), file.Domain);
            Assert.Equal(x.Str("domainSecretHex"), J.Hex(keys.OwnDomainSecret));
            Assert.Equal(x.Str("chunkerSecretHex"), J.Hex(keys.Own.ChunkerSecret.Span));
            Assert.Equal(x.Str("blobIdKeyHex"), J.Hex(keys.Own.BlobIdKey.Span));
            Assert.Equal(x.Str("indexKeyHex"), J.Hex(keys.Own.IndexKey.Span));
            Assert.Equal(x.Str("signingPublicHex"), J.Hex(keys.SigningKey.PublicKey));
            using (var d = keys.SigningKey.ExportPrivate())
            {
                Assert.Equal(x.Str("signingScalarHex"), J.Hex(d.Span));
            }

            Assert.Equal(x.Str("readPublicHex"), J.Hex(keys.ReadPublicKey));
            if (x.GetProperty("readScalarHex").ValueKind == JsonValueKind.Null)
            {
                Assert.Null(keys.ReadKey);
                Assert.Equal(JsonValueKind.Null, x.GetProperty("masterSecretHex").ValueKind);
                Assert.Throws<MissingCapabilityException>(() => keys.MasterSecret.Length);
            }
            else
            {
                using var d = keys.ReadKey!.ExportPrivate();
                Assert.Equal(x.Str("readScalarHex"), J.Hex(d.Span));
                Assert.Equal(x.Str("masterSecretHex"), J.Hex(keys.MasterSecret));
            }

            Assert.Equal(x.Str("certificateHex"), J.Hex(keys.Certificate));
            var certified = keys.Certified(config.SigningPublicKeyBytes);
            Assert.Equal(x.GetProperty("certifiedHost").GetString(), certified?.Host);
            Assert.Equal(x.GetProperty("certifiedDomainHex").GetString(), certified?.Domain.ToString());

            // The production writer seals the same payload.
            using (var payload = new PooledBufferWriter())
            {
                KeyPayload.Write(payload, keys, configHash);
                Assert.Equal(c.Str("payloadPlaintextHex"), J.Hex(payload.WrittenSpan));
            }

            // The wrong password does not open it; neither does any edit of the envelope (AAD), the domain included.
            Assert.Null(file.TryOpen([.. password, (byte)'x'], config, configHash, name));
            Assert.Null((file with { Host = file.Host + "x" }).TryOpen(password, config, configHash, name));
            Assert.Null((file with { Iterations = file.Iterations + 1 }).TryOpen(password, config, configHash, name));
            if (keys.Kind == KeyKind.WriteOnly)
            {
                Assert.Null((file with { Domain = Fixed.GroupDomain == keys.Own.Id ? Fixed.WriterDomain.ToString() : Fixed.GroupDomain.ToString() }).TryOpen(password, config, configHash, name));
            }

            // A config that differs in any byte is refused by every key file, with the config named.
            var otherConfig = Encoding.UTF8.GetBytes(v.Str("config").Replace("16777216", "33554432", StringComparison.Ordinal));
            var parsedOther = RepositoryConfig.Parse(otherConfig);
            var ex = Assert.Throws<CorruptObjectException>(() => file.TryOpen(password, parsedOther, SHA256.HashData(otherConfig), name));
            Assert.Equal(Layout.Config, ex.ObjectName);
        }

        var rejects = v.Arr("rejects").ToList();
        Assert.Equal(14, rejects.Count);
        foreach (var r in rejects)
        {
            var bytes = Encoding.UTF8.GetBytes(r.Str("keyFile"));
            string why = r.Str("why");
            if (r.Str("stage") == "parse")
            {
                var parseError = Record.Exception(() => KeyFile.Parse(bytes, "key vector"));
                Assert.True(parseError is CorruptObjectException, $"{why}: expected Parse to refuse it, got {parseError?.GetType().Name ?? "none"}");
                continue;
            }

            Assert.Equal("open", r.Str("stage"));
            var file = KeyFile.Parse(bytes, "key vector");
            var openError = Record.Exception(() => file.TryOpen(Encoding.UTF8.GetBytes(r.Str("password")), config, configHash, "key vector")?.Dispose());
            Assert.True(openError is CorruptObjectException, $"{why}: expected a CorruptObjectException, got {openError?.GetType().Name ?? "none (opened, or wrong password)"}");
        }
    }
}
