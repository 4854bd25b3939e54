using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;
using Dedup.Repository.Packs;
using Dedup.Repository.Snapshots;
using K4os.Compression.LZ4;
using Xunit;
using static Dedup.Tests.Spec.SpecCrypto;

namespace Dedup.Tests.Spec;

/// <summary>
/// The sealed objects of spec/repository-format.md against spec/test-vectors/: key wrap, index file, pack, key
/// file (with config) and snapshot. Generators build them from the spec with fixed keys, salts and ephemeral
/// scalars; the loaders open them with the production code and assert every recovered value, and assert that
/// tampered copies are refused. Regenerate with DEDUP_WRITE_VECTORS=1 only for a deliberate format change.
/// </summary>
public class SealedVectorTests
{
    [Fact]
    public void KeyWrapVector()
    {
        var v = VectorFiles.Load("key-wrap.json", () =>
        {
            var dataKey = Fixed.Seq(0xA0, 32);
            var eph = Fixed.Scalar("dedup.vectors.ephemeral.wrap");
            var wrapped = Wrap(dataKey, Fixed.ReadPublic(), eph, out var shared, out var wrapKey);
            return new JsonObject
            {
                ["description"] = "ECIES wrap of a 32-byte data key to the read public key (113 bytes). spec/repository-format.md, \"Key wrap\". The ephemeral scalar is fixed here; writers MUST use a fresh random one.",
                ["recipientScalarHex"] = J.Hex(Fixed.ReadScalar),
                ["recipientPublicHex"] = J.Hex(Fixed.ReadPublic()),
                ["ephemeralScalarHex"] = J.Hex(eph),
                ["sharedSecretHex"] = J.Hex(shared),
                ["wrapKeyHex"] = J.Hex(wrapKey),
                ["dataKeyHex"] = J.Hex(dataKey),
                ["wrappedHex"] = J.Hex(wrapped),
                ["strangerScalarHex"] = J.Hex(Fixed.StrangerScalar),
            };
        });

        var wrapped = v.Bytes("wrappedHex");
        Assert.Equal(KeyWrap.WrappedSize, wrapped.Length);
        using var read = ReadKey.Import(v.Bytes("recipientScalarHex"));
        Assert.Equal(v.Str("recipientPublicHex"), J.Hex(read.PublicKey));
        var dataKey = new byte[32];
        Assert.True(KeyWrap.TryUnwrap(wrapped, read, dataKey));
        Assert.Equal(v.Str("dataKeyHex"), J.Hex(dataKey));
        // The spec's derivation, step by step, from the recorded ephemeral scalar reproduces the block exactly.
        Assert.Equal(v.Str("wrappedHex"), J.Hex(Wrap(v.Bytes("dataKeyHex"), v.Bytes("recipientPublicHex"), v.Bytes("ephemeralScalarHex"), out var shared, out var wrapKey)));
        Assert.Equal(v.Str("sharedSecretHex"), J.Hex(shared));
        Assert.Equal(v.Str("wrapKeyHex"), J.Hex(wrapKey));

        foreach (int i in new[] { 0, 1, 40, 64, 65, 96, 97, 112 })
        {
            var bad = (byte[])wrapped.Clone();
            bad[i] ^= 0x01;
            Assert.False(KeyWrap.TryUnwrap(bad, read, new byte[32]), $"flipped byte {i} still unwraps");
        }

        Assert.False(KeyWrap.TryUnwrap(wrapped[..112], read, new byte[32]));
        using var stranger = ReadKey.Import(v.Bytes("strangerScalarHex"));
        Assert.False(KeyWrap.TryUnwrap(wrapped, stranger, new byte[32]));
    }

    [Fact]
    public void IndexFileVector()
    {
        var v = VectorFiles.Load("index-file.json", () =>
        {
            var salt = Fixed.Seq(0x60, 32);
            var plain = FormatVectorTests.SpecIndexPlaintext(FormatVectorTests.SampleIndexPacks());
            var subkey = Hkdf(Fixed.IndexKey, salt, "dedup.index.v1");
            byte[] header = [.. "DDIX"u8, 1, .. salt];
            byte[] stored = [.. header, .. Seal(subkey, new byte[12], plain, header)];
            return new JsonObject
            {
                ["description"] = "A stored index file: \"DDIX\" | 1 | salt (32) | AES-256-GCM(HKDF-SHA256(index key, salt, \"dedup.index.v1\"), zero nonce, plaintext, AAD = the first 37 bytes). spec/repository-format.md, \"Sealed envelope\". The salt is fixed here; writers MUST use a fresh random one.",
                ["indexKeyHex"] = J.Hex(Fixed.IndexKey),
                ["saltHex"] = J.Hex(salt),
                ["subkeyHex"] = J.Hex(subkey),
                ["plaintextHex"] = J.Hex(plain),
                ["storedHex"] = J.Hex(stored),
                ["name"] = "index/" + ObjectId.HashOf(stored),
                ["packs"] = FormatVectorTests.IndexPacksJson(FormatVectorTests.SampleIndexPacks()),
            };
        });

        var stored = v.Bytes("storedHex");
        Assert.Equal(v.Str("name"), Layout.Index(ObjectId.HashOf(stored)));
        Assert.Equal(J.Hex(Fixed.IndexKey), v.Str("indexKeyHex"));
        using var keys = Fixed.FullKeys();
        var packs = new List<IndexPack>();
        IndexFile.Open(stored, keys, v.Str("name"), packs.Add);
        FormatVectorTests.AssertSamePacks(FormatVectorTests.IndexPacksFrom(v.GetProperty("packs")), packs);
        Assert.Equal(v.Str("subkeyHex"), J.Hex(Hkdf(v.Bytes("indexKeyHex"), v.Bytes("saltHex"), "dedup.index.v1")));

        // A write-only key holds the same index key and reads the same index.
        using (var writer = Fixed.WriterKeys(Fixed.WriterScalar, []))
        {
            int n = 0;
            IndexFile.Open(stored, writer, v.Str("name"), _ => n++);
            Assert.Equal(2, n);
        }

        foreach (int i in new[] { 0, 4, 5, 36, 37, stored.Length - 1 })
        {
            var bad = (byte[])stored.Clone();
            bad[i] ^= 0x01;
            Assert.Throws<CorruptObjectException>(() => IndexFile.Open(bad, keys, "index vector", _ => { }));
        }

        // Resealing (random salt) still opens to the same packs: the writer and the vector agree on the plaintext.
        var resealed = IndexFile.Seal(packs, keys);
        var again = new List<IndexPack>();
        IndexFile.Open(resealed, keys, "resealed", again.Add);
        FormatVectorTests.AssertSamePacks(packs, again);
        Assert.Equal(v.Str("plaintextHex").Length + 2 * (37 + 16), J.Hex(resealed).Length);
    }

    private static byte[][] PackPlaintexts() =>
    [
        Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("abcd", 250))),
        SHA256.HashData("incompressible 1"u8).Concat(SHA256.HashData("incompressible 2"u8)).ToArray(),
        [],
        Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("hello, world. ", 40))),
    ];

    [Fact]
    public void PackVector()
    {
        var v = VectorFiles.Load("pack.json", () =>
        {
            var dataKey = Fixed.Seq(0x80, 32);
            var eph = Fixed.Scalar("dedup.vectors.ephemeral.pack");
            const byte type = 0;
            var pack = new List<byte>();
            var blobs = new JsonArray();
            var header = new List<byte> { 1, type };
            var plaintexts = PackPlaintexts();
            header.AddRange(Varint((ulong)plaintexts.Length));
            foreach (var p in plaintexts)
            {
                var id = BlobId(p);
                long offset = pack.Count;
                var lz = new byte[LZ4Codec.MaximumOutputSize(p.Length)];
                int n = p.Length == 0 ? 0 : LZ4Codec.Encode(p, lz, LZ4Level.L00_FAST);
                bool compressed = n > 0 && n < p.Length;
                var payload = compressed ? lz[..n] : p;
                byte[] nonce = [.. Le64(offset), 0, 0, 0, 0];
                var sealedBlob = Seal(dataKey, nonce, payload, [type, .. id]);
                pack.AddRange(sealedBlob);
                header.AddRange(id);
                header.AddRange(Varint((ulong)sealedBlob.Length));
                header.AddRange(Varint((ulong)p.Length));
                blobs.Add(new JsonObject
                {
                    ["id"] = J.Hex(id),
                    ["offset"] = offset,
                    ["storedLength"] = sealedBlob.Length,
                    ["rawLength"] = p.Length,
                    ["compressed"] = compressed,
                    ["plaintextHex"] = J.Hex(p),
                });
            }

            var sealedHeader = Seal(dataKey, Enumerable.Repeat((byte)0xFF, 12).ToArray(), header.ToArray(), "dedup.pack.header.v1"u8.ToArray());
            pack.AddRange(sealedHeader);
            pack.AddRange(Wrap(dataKey, Fixed.ReadPublic(), eph, out _, out _));
            pack.AddRange(Le32((uint)sealedHeader.Length));
            pack.Add(1);
            pack.AddRange("DDPK"u8.ToArray());
            var bytes = pack.ToArray();
            return new JsonObject
            {
                ["description"] = "A whole data pack: sealed blobs | sealed header | wrapped data key (113) | header length (u32 LE) | version 1 | \"DDPK\". spec/repository-format.md, \"Packs\". Data key and ephemeral scalar are fixed here; writers MUST use fresh random ones.",
                ["readScalarHex"] = J.Hex(Fixed.ReadScalar),
                ["blobIdKeyHex"] = J.Hex(Fixed.BlobIdKey),
                ["dataKeyHex"] = J.Hex(dataKey),
                ["ephemeralScalarHex"] = J.Hex(eph),
                ["type"] = type,
                ["headerPlaintextHex"] = J.Hex(header.ToArray()),
                ["sealedHeaderLength"] = sealedHeader.Length,
                ["packHex"] = J.Hex(bytes),
                ["name"] = Layout.Pack(ObjectId.HashOf(bytes)),
                ["blobs"] = blobs,
            };
        });

        var pack = v.Bytes("packHex");
        var packId = ObjectId.HashOf(pack);
        Assert.Equal(v.Str("name"), Layout.Pack(packId));
        Assert.StartsWith("data/" + packId.ToString()[..2] + "/", v.Str("name"));
        using var keys = Fixed.FullKeys();
        Assert.Equal(v.Str("readScalarHex"), J.Hex(Fixed.ReadScalar));
        using var read = ReadKey.Import(v.Bytes("readScalarHex"));
        var info = PackHeaderReader.Parse(pack, packId, read);
        Assert.Equal((BlobType)v.Int("type"), info.Type);
        Assert.Equal(v.Int("sealedHeaderLength"), info.SealedHeaderLength);
        Assert.Equal(J.Hex(pack.AsSpan(pack.Length - 122, 113)), J.Hex(info.WrappedKey));
        var dataKey = new byte[32];
        Assert.True(KeyWrap.TryUnwrap(info.WrappedKey, read, dataKey));
        Assert.Equal(v.Str("dataKeyHex"), J.Hex(dataKey));

        var expected = v.Arr("blobs").ToList();
        Assert.Equal(4, expected.Count);
        var located = info.ToIndexBlobs();
        Assert.Equal(expected.Count, located.Length);
        for (int i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var id = ObjectId.Parse(e.Str("id"));
            Assert.Equal(new IndexBlob(id, e.Long("offset"), e.Int("storedLength"), e.Int("rawLength")), located[i]);
            Assert.Equal(e.GetProperty("compressed").GetBoolean(), e.Int("storedLength") - 16 < e.Int("rawLength"));
            var output = new byte[e.Int("rawLength")];
            BlobSealer.Open(dataKey, info.Type, id, e.Long("offset"), pack.AsSpan((int)e.Long("offset"), e.Int("storedLength")), output.Length, output, keys, "vector blob");
            Assert.Equal(e.Str("plaintextHex"), J.Hex(output));
            Assert.Equal(e.Str("id"), keys.BlobId(output).ToString());
        }

        Assert.Contains(expected, e => e.GetProperty("compressed").GetBoolean());
        Assert.Contains(expected, e => !e.GetProperty("compressed").GetBoolean() && e.Int("rawLength") > 0);

        // Any flipped byte of a blob fails that blob; of the header or trailer, the header.
        var first = expected[0];
        var badBlob = (byte[])pack.Clone();
        badBlob[10] ^= 1;
        Assert.Throws<CorruptObjectException>(() => BlobSealer.Open(dataKey, info.Type, ObjectId.Parse(first.Str("id")), 0,
            badBlob.AsSpan(0, first.Int("storedLength")), first.Int("rawLength"), new byte[first.Int("rawLength")], keys, "vector blob"));
        // The same bytes at another offset (nonce) or under the other blob type (AAD) do not open.
        Assert.Throws<CorruptObjectException>(() => BlobSealer.Open(dataKey, BlobType.Tree, ObjectId.Parse(first.Str("id")), 0,
            pack.AsSpan(0, first.Int("storedLength")), first.Int("rawLength"), new byte[first.Int("rawLength")], keys, "vector blob"));
        Assert.Throws<CorruptObjectException>(() => BlobSealer.Open(dataKey, info.Type, ObjectId.Parse(first.Str("id")), 1,
            pack.AsSpan(0, first.Int("storedLength")), first.Int("rawLength"), new byte[first.Int("rawLength")], keys, "vector blob"));
        foreach (int back in new[] { 1, 5, 9, 20, 122, 123, 122 + v.Int("sealedHeaderLength") })
        {
            var bad = (byte[])pack.Clone();
            bad[^back] ^= 1;
            Assert.Throws<CorruptObjectException>(() => PackHeaderReader.Parse(bad, packId, read));
        }
    }

    private static readonly DateTimeOffset KeyCreated = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static RepositoryConfig VectorConfig(byte[] readPublic, byte[] signingPublic) => new()
    {
        Version = 1,
        Id = Fixed.RepositoryId.ToString(),
        Created = KeyCreated,
        ChunkerMin = 256 * 1024,
        ChunkerAverage = 1024 * 1024,
        ChunkerMax = 4 * 1024 * 1024,
        PackSize = 16 * 1024 * 1024,
        Compression = "lz4",
        ReadPublicKey = Convert.ToBase64String(readPublic),
        SigningPublicKey = Convert.ToBase64String(signingPublic),
    };

    private sealed record KeyCase(string Name, KeyKind Kind, string Password, Argon2Parameters Kdf, byte[] Salt, byte[] Nonce, string Host, string User, byte[] SigningScalar, bool WithCertificate);

    private static readonly KeyCase[] KeyCases =
    [
        new("full", KeyKind.Full, "correct horse battery staple", new Argon2Parameters(64, 2, 2), Fixed.Seq(0xC0, 32), Fixed.Seq(0xE0, 12), "admin", "root", Fixed.RepositorySigningScalar, false),
        new("write-only", KeyKind.WriteOnly, "pässwörd \u00e9", new Argon2Parameters(32, 1, 1), Fixed.Seq(0xD0, 32), Fixed.Seq(0xF0, 12), "web1", "backup", Fixed.WriterScalar, true),
    ];

    private static JsonObject KeyFileJson(KeyCase c, byte[] configBytes)
    {
        var readPublic = Fixed.ReadPublic();
        var signingPublic = Fixed.PublicOf(c.SigningScalar);
        byte[] certificate = [];
        if (c.WithCertificate)
        {
            using var repoSigning = SigningKey.Import(Fixed.RepositorySigningScalar);
            certificate = WriterCertificate.Issue(repoSigning, signingPublic, c.Host);
        }

        var payload = new List<byte> { 1, (byte)c.Kind };
        payload.AddRange(Fixed.RepositoryId.ToArray());
        payload.AddRange(SHA256.HashData(configBytes));
        payload.AddRange(Fixed.ChunkerSecret);
        payload.AddRange(Fixed.BlobIdKey);
        payload.AddRange(Fixed.IndexKey);
        payload.AddRange(c.SigningScalar);
        if (c.Kind == KeyKind.Full)
        {
            payload.Add(1);
            payload.AddRange(Fixed.ReadScalar);
        }
        else
        {
            payload.Add(0);
        }

        payload.AddRange(Varint((ulong)certificate.Length));
        payload.AddRange(certificate);

        string kind = c.Kind == KeyKind.Full ? "full" : "write-only";
        string created = KeyCreated.ToString("O");
        string signingB64 = Convert.ToBase64String(signingPublic);
        string saltB64 = Convert.ToBase64String(c.Salt);
        // "dedup.key.v1", then every field as a varint byte length and its UTF-8 bytes.
        var aad = new List<byte>(Encoding.UTF8.GetBytes("dedup.key.v1"));
        foreach (var field in new[] { kind, created, c.Host, c.User, signingB64, "argon2id", c.Kdf.MemoryKiB.ToString(), c.Kdf.Iterations.ToString(), c.Kdf.Parallelism.ToString(), saltB64 })
        {
            var bytes = Encoding.UTF8.GetBytes(field);
            aad.AddRange(Varint((ulong)bytes.Length));
            aad.AddRange(bytes);
        }
        using var passwordKey = PasswordKdf.Derive(Encoding.UTF8.GetBytes(c.Password), c.Salt, c.Kdf);
        var sealedPayload = Seal(passwordKey.Span.ToArray(), c.Nonce, payload.ToArray(), aad.ToArray());
        var file = new KeyFile
        {
            Version = 1, Kind = kind, Created = created, Host = c.Host, Username = c.User, SigningPublicKey = signingB64,
            Kdf = "argon2id", MemoryKiB = c.Kdf.MemoryKiB, Iterations = c.Kdf.Iterations, Parallelism = c.Kdf.Parallelism,
            Salt = saltB64, Nonce = Convert.ToBase64String(c.Nonce), Payload = Convert.ToBase64String(sealedPayload),
        };
        var fileBytes = JsonSerializer.SerializeToUtf8Bytes(file, JsonOptions.Indented.KeyFile);
        return new JsonObject
        {
            ["name"] = c.Name,
            ["password"] = c.Password,
            ["argon2"] = new JsonObject { ["memoryKiB"] = c.Kdf.MemoryKiB, ["iterations"] = c.Kdf.Iterations, ["parallelism"] = c.Kdf.Parallelism },
            ["passwordKeyHex"] = J.Hex(passwordKey.Span),
            ["associatedDataHex"] = J.Hex(aad.ToArray()),
            ["payloadPlaintextHex"] = J.Hex(payload.ToArray()),
            ["keyFile"] = Encoding.UTF8.GetString(fileBytes),
            ["fileName"] = "keys/" + ObjectId.HashOf(fileBytes),
            ["expected"] = new JsonObject
            {
                ["kind"] = kind,
                ["repositoryId"] = Fixed.RepositoryId.ToString(),
                ["chunkerSecretHex"] = J.Hex(Fixed.ChunkerSecret),
                ["blobIdKeyHex"] = J.Hex(Fixed.BlobIdKey),
                ["indexKeyHex"] = J.Hex(Fixed.IndexKey),
                ["signingScalarHex"] = J.Hex(c.SigningScalar),
                ["signingPublicHex"] = J.Hex(signingPublic),
                ["readScalarHex"] = c.Kind == KeyKind.Full ? J.Hex(Fixed.ReadScalar) : null,
                ["readPublicHex"] = J.Hex(readPublic),
                ["certificateHex"] = J.Hex(certificate),
                ["certifiedHost"] = c.WithCertificate ? c.Host : null,
            },
        };
    }

    [Fact]
    public void KeyFileVectors()
    {
        var v = VectorFiles.Load("key-file.json", () =>
        {
            var config = VectorConfig(Fixed.ReadPublic(), Fixed.PublicOf(Fixed.RepositorySigningScalar)).Serialize();
            return new JsonObject
            {
                ["description"] = "The config and two key files (full, write-only) that open with it. Argon2 costs are tiny so the test is fast; salts and nonces are fixed here, writers MUST use fresh random ones. spec/repository-format.md, \"Config\" and \"Key files\".",
                ["config"] = Encoding.UTF8.GetString(config),
                ["configSha256"] = J.Hex(SHA256.HashData(config)),
                ["keys"] = new JsonArray(KeyCases.Select(c => (JsonNode)KeyFileJson(c, config)).ToArray()),
            };
        });

        var configBytes = Encoding.UTF8.GetBytes(v.Str("config"));
        var configHash = SHA256.HashData(configBytes);
        Assert.Equal(v.Str("configSha256"), J.Hex(configHash));
        var config = RepositoryConfig.Parse(configBytes);
        Assert.Equal(1, config.Version);
        Assert.Equal(Fixed.RepositoryId.ToString(), config.Id);
        Assert.Equal((256 * 1024, 1024 * 1024, 4 * 1024 * 1024, 16 * 1024 * 1024), (config.ChunkerMin, config.ChunkerAverage, config.ChunkerMax, config.PackSize));
        Assert.Equal("lz4", config.Compression);
        Assert.Equal(J.Hex(Fixed.ReadPublic()), J.Hex(config.ReadPublicKeyBytes));
        Assert.Equal(J.Hex(Fixed.PublicOf(Fixed.RepositorySigningScalar)), J.Hex(config.SigningPublicKeyBytes));

        var cases = v.Arr("keys").ToList();
        Assert.Equal(2, cases.Count);
        foreach (var c in cases)
        {
            var fileBytes = Encoding.UTF8.GetBytes(c.Str("keyFile"));
            string name = c.Str("fileName");
            Assert.Equal(name, Layout.Key(ObjectId.HashOf(fileBytes)));
            var argon = c.GetProperty("argon2");
            var file = KeyFile.Parse(fileBytes, name);
            Assert.Equal((argon.Int("memoryKiB"), argon.Int("iterations"), argon.Int("parallelism")), (file.MemoryKiB, file.Iterations, file.Parallelism));
            using (var pk = PasswordKdf.Derive(Encoding.UTF8.GetBytes(c.Str("password")), Convert.FromBase64String(file.Salt), file.KdfParameters))
            {
                Assert.Equal(c.Str("passwordKeyHex"), J.Hex(pk.Span));
            }

            using var keys = file.TryOpen(Encoding.UTF8.GetBytes(c.Str("password")), config, configHash, name);
            Assert.NotNull(keys);
            var x = c.GetProperty("expected");
            Assert.Equal(x.Str("kind"), KeyFile.KindName(keys.Kind));
            Assert.Equal(x.Str("repositoryId"), keys.RepositoryId.ToString());
            Assert.Equal(x.Str("chunkerSecretHex"), J.Hex(keys.ChunkerSecret.Span));
            Assert.Equal(x.Str("blobIdKeyHex"), J.Hex(keys.BlobIdKey.Span));
            Assert.Equal(x.Str("indexKeyHex"), J.Hex(keys.IndexKey.Span));
            Assert.Equal(x.Str("signingPublicHex"), J.Hex(keys.SigningKey.PublicKey));
            using (var d = keys.SigningKey.ExportPrivate())
            {
                Assert.Equal(x.Str("signingScalarHex"), J.Hex(d.Span));
            }

            Assert.Equal(x.Str("readPublicHex"), J.Hex(keys.ReadPublicKey));
            if (x.GetProperty("readScalarHex").ValueKind == JsonValueKind.Null)
            {
                Assert.Null(keys.ReadKey);
            }
            else
            {
                using var d = keys.ReadKey!.ExportPrivate();
                Assert.Equal(x.Str("readScalarHex"), J.Hex(d.Span));
            }

            Assert.Equal(x.Str("certificateHex"), J.Hex(keys.Certificate));
            string? host = x.GetProperty("certifiedHost").GetString();
            Assert.Equal(host, keys.Certificate.Length == 0 ? null : WriterCertificate.Verify(keys.SigningKey.PublicKey, keys.Certificate, config.SigningPublicKeyBytes));

            // The wrong password does not open it; neither does any edit of the envelope (AAD).
            Assert.Null(file.TryOpen(Encoding.UTF8.GetBytes(c.Str("password") + "x"), config, configHash, name));
            Assert.Null((file with { Host = file.Host + "x" }).TryOpen(Encoding.UTF8.GetBytes(c.Str("password")), config, configHash, name));
            Assert.Null((file with { Iterations = file.Iterations + 1 }).TryOpen(Encoding.UTF8.GetBytes(c.Str("password")), config, configHash, name));
            // A config that differs in any byte is refused by every key file, with the config named.
            var otherConfig = Encoding.UTF8.GetBytes(v.Str("config").Replace("16777216", "33554432", StringComparison.Ordinal));
            var parsedOther = RepositoryConfig.Parse(otherConfig);
            var ex = Assert.Throws<CorruptObjectException>(() => file.TryOpen(Encoding.UTF8.GetBytes(c.Str("password")), parsedOther, SHA256.HashData(otherConfig), name));
            Assert.Equal(Layout.Config, ex.ObjectName);
        }
    }

    private sealed record SnapshotCase(string Name, byte[] SignerScalar, string? CertHost, string PayloadHost, SnapshotTrust HeaderTrust, SnapshotTrust Trust);

    private static readonly SnapshotCase[] SnapshotCases =
    [
        new("full-key", Fixed.RepositorySigningScalar, null, "admin", SnapshotTrust.Repository, SnapshotTrust.Repository),
        new("write-only-key", Fixed.WriterScalar, "web1", "web1", SnapshotTrust.CertifiedWriter, SnapshotTrust.CertifiedWriter),
        new("write-only-key-other-host", Fixed.WriterScalar, "web1", "db1", SnapshotTrust.CertifiedWriter, SnapshotTrust.Untrusted),
        new("uncertified-signer", Fixed.StrangerScalar, null, "web1", SnapshotTrust.Untrusted, SnapshotTrust.Untrusted),
    ];

    private static SnapshotInfo SampleInfo(string host) => new()
    {
        Time = new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero),
        Host = host,
        Username = "ann",
        Paths = ["/home/ann", "/etc"],
        Tags = ["daily"],
        Tree = [Fixed.Id("root tree 0").ToString(), Fixed.Id("root tree 1").ToString()],
        Parent = Fixed.Id("parent snapshot").ToString(),
        ProgramVersion = "dedup 0.1.0",
        Session = Fixed.Id("backup marker").ToString(),
        Excludes = ["*.tmp"],
        Summary = new SnapshotSummary { FilesNew = 10, FilesChanged = 2, FilesUnmodified = 1000, DirsNew = 1, DirsUnmodified = 99, BytesRead = 123456, BytesTotal = 9876543, BytesAdded = 100000, BytesAddedStored = 60000, BlobsAdded = 3, DurationSeconds = 1.5 },
    };

    private static JsonObject SnapshotJson(SnapshotCase c)
    {
        var signerPublic = Fixed.PublicOf(c.SignerScalar);
        byte[] cert = [];
        if (c.CertHost is not null)
        {
            using var repoSigning = SigningKey.Import(Fixed.RepositorySigningScalar);
            cert = WriterCertificate.Issue(repoSigning, signerPublic, c.CertHost);
        }

        var info = SampleInfo(c.PayloadHost);
        var json = JsonSerializer.SerializeToUtf8Bytes(info);
        var dataKey = Fixed.Scalar("dedup.vectors.snapshot-data-key." + c.Name);
        var wrapped = Wrap(dataKey, Fixed.ReadPublic(), Fixed.Scalar("dedup.vectors.ephemeral.snapshot." + c.Name), out _, out _);
        byte[] header = [.. "DDSN"u8, 1, .. Le64(info.Time.ToUnixTimeMilliseconds()), .. signerPublic, .. Le16((ushort)cert.Length), .. cert, .. wrapped, .. Le32((uint)(json.Length + 16))];
        byte[] signed = [.. header, .. Seal(dataKey, new byte[12], json, header)];
        using var signer = SigningKey.Import(c.SignerScalar);
        var sig = new byte[64];
        signer.Sign(signed, sig);
        byte[] stored = [.. signed, .. sig];
        return new JsonObject
        {
            ["name"] = c.Name,
            ["storedHex"] = J.Hex(stored),
            ["objectName"] = "snapshots/" + ObjectId.HashOf(stored),
            ["dataKeyHex"] = J.Hex(dataKey),
            ["signerPublicHex"] = J.Hex(signerPublic),
            ["signerScalarHex"] = J.Hex(c.SignerScalar),
            ["certificateHex"] = J.Hex(cert),
            ["claimedTimeMs"] = info.Time.ToUnixTimeMilliseconds(),
            ["headerTrust"] = c.HeaderTrust.ToString(),
            ["trust"] = c.Trust.ToString(),
            ["certifiedHost"] = c.CertHost,
            ["payloadJson"] = Encoding.UTF8.GetString(json),
        };
    }

    [Fact]
    public void SnapshotVectors()
    {
        var v = VectorFiles.Load("snapshot.json", () => new JsonObject
        {
            ["description"] = "Snapshot objects: \"DDSN\" | 1 | claimed time (i64 LE ms) | signer public key (65) | certificate length (u16 LE) | certificate | wrapped data key (113) | sealed payload length (u32 LE) | sealed payload | ECDSA P-256 signature (64). Trust: Repository (signed by the config's signing key), CertifiedWriter (signer certified by it for the payload's host), Untrusted. headerTrust is what a reader without the read key can tell. ECDSA signatures are randomized, so regenerating changes them. spec/repository-format.md, \"Snapshots\".",
            ["readScalarHex"] = J.Hex(Fixed.ReadScalar),
            ["repositorySigningPublicHex"] = J.Hex(Fixed.PublicOf(Fixed.RepositorySigningScalar)),
            ["vectors"] = new JsonArray(SnapshotCases.Select(c => (JsonNode)SnapshotJson(c)).ToArray()),
        });

        var repoSigning = v.Bytes("repositorySigningPublicHex");
        Assert.Equal(J.Hex(Fixed.ReadScalar), v.Str("readScalarHex"));
        using var keys = Fixed.FullKeys();
        var cases = v.Arr("vectors").ToList();
        Assert.Equal(4, cases.Count);
        foreach (var c in cases)
        {
            var stored = c.Bytes("storedHex");
            var id = ObjectId.HashOf(stored);
            Assert.Equal(c.Str("objectName"), Layout.Snapshot(id));
            var header = SnapshotEnvelope.ReadHeader(stored, id, c.Str("objectName"), repoSigning);
            Assert.Equal(c.Str("headerTrust"), header.Trust.ToString());
            Assert.Equal(c.Long("claimedTimeMs"), header.ClaimedTime.ToUnixTimeMilliseconds());
            Assert.Equal(c.Str("signerPublicHex"), J.Hex(header.SignerPublicKey));

            var (opened, info) = SnapshotEnvelope.Open(stored, id, c.Str("objectName"), keys, repoSigning);
            Assert.Equal(c.Str("trust"), opened.Trust.ToString());
            if (opened.Trust == SnapshotTrust.CertifiedWriter)
            {
                Assert.Equal(c.Str("certifiedHost"), opened.CertifiedHost);
            }
            Assert.Equal(c.Str("payloadJson"), Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(info)));
            using var payload = JsonDocument.Parse(c.Str("payloadJson"));
            Assert.Equal(payload.RootElement.Str("host"), info.Host);
            Assert.Equal(c.Long("claimedTimeMs"), info.Time.ToUnixTimeMilliseconds());
            Assert.Equal(2, info.Tree.Count);
            Assert.Equal(Fixed.Id("root tree 0").ToString(), info.Tree[0]);
            Assert.Equal(["/home/ann", "/etc"], info.Paths);

            // A write-only key reads the header but cannot open the payload.
            using (var writer = Fixed.WriterKeys(Fixed.WriterScalar, []))
            {
                Assert.Throws<MissingCapabilityException>(() => SnapshotEnvelope.Open(stored, id, "s", writer, repoSigning));
            }

            // Changing any byte makes the snapshot untrusted or unreadable, never silently different.
            foreach (int i in new[] { 5, 13, 80, stored.Length - 100, stored.Length - 1 })
            {
                var bad = (byte[])stored.Clone();
                bad[i] ^= 1;
                var badId = ObjectId.HashOf(bad);
                try
                {
                    var (h, _) = SnapshotEnvelope.Open(bad, badId, "s", keys, repoSigning);
                    Assert.Equal(SnapshotTrust.Untrusted, h.Trust);
                }
                catch (CorruptObjectException)
                {
                }
            }
        }
    }
}
