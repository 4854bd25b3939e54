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
using Dedup.Repository.Trust;
using K4os.Compression.LZ4;
using Xunit;
using static Dedup.Tests.Spec.SpecCrypto;

namespace Dedup.Tests.Spec;

/// <summary>
/// The sealed objects of spec/repository-format.md (format version 2) against spec/test-vectors/: key wrap, pack and
/// index file. Generators build them from the spec with fixed keys, salts and ephemeral scalars; the loaders open them
/// with the production code and assert every recovered value, and assert that tampered copies are refused.
/// Regenerate with DEDUP_WRITE_VECTORS=1 only for a deliberate format change.
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
            var domain = Fixed.WriterDomain;
            const byte type = 0;
            var pack = new List<byte>();
            var blobs = new JsonArray();
            var header = new List<byte> { 2, type };
            header.AddRange(domain.ToArray());
            var plaintexts = PackPlaintexts();
            header.AddRange(Varint((ulong)plaintexts.Length));
            foreach (var p in plaintexts)
            {
                var id = BlobId(domain, p);
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
            pack.AddRange(Wrap(dataKey, eph));
            pack.AddRange(Le32((uint)sealedHeader.Length));
            pack.Add(1);
            pack.AddRange("DDPK"u8.ToArray());
            var bytes = pack.ToArray();
            return new JsonObject
            {
                ["description"] = "A whole data pack of the writer domain: sealed blobs | sealed header | wrapped data key (113) | header length (u32 LE) | trailer version 1 | \"DDPK\". The header plaintext is version 2 (see pack-header.json) and names the domain; blob IDs are HMACs under that domain's blob-ID key. The header AAD is still \"dedup.pack.header.v1\" and the trailer version still 1. spec/repository-format.md, \"Packs\". Data key and ephemeral scalar are fixed here; writers MUST use fresh random ones.",
                ["readScalarHex"] = J.Hex(Fixed.ReadScalar),
                ["domainIdHex"] = J.Hex(domain.ToArray()),
                ["blobIdKeyHex"] = J.Hex(DomainKey(domain, "blob-id")),
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
        Assert.Equal(v.Domain("domainIdHex"), info.Domain);
        var domain = keys.For(info.Domain);
        Assert.Equal(v.Str("blobIdKeyHex"), J.Hex(domain.BlobIdKey.Span));
        Assert.Equal(v.Int("sealedHeaderLength"), info.SealedHeaderLength);
        Assert.Equal(J.Hex(pack.AsSpan(pack.Length - 122, 113)), J.Hex(info.WrappedKey));
        var dataKey = new byte[32];
        Assert.True(KeyWrap.TryUnwrap(info.WrappedKey, read, dataKey));
        Assert.Equal(v.Str("dataKeyHex"), J.Hex(dataKey));
        // The header plaintext as the production encoder writes it.
        using (var w = new PooledBufferWriter())
        {
            PackHeaderCodec.Write(w, info.Type, info.Domain, info.Entries);
            Assert.Equal(v.Str("headerPlaintextHex"), J.Hex(w.WrittenSpan));
        }

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
            BlobSealer.Open(dataKey, info.Type, id, e.Long("offset"), pack.AsSpan((int)e.Long("offset"), e.Int("storedLength")), output.Length, output, domain, "vector blob");
            Assert.Equal(e.Str("plaintextHex"), J.Hex(output));
            Assert.Equal(e.Str("id"), domain.BlobId(output).ToString());
        }

        Assert.Contains(expected, e => e.GetProperty("compressed").GetBoolean());
        Assert.Contains(expected, e => !e.GetProperty("compressed").GetBoolean() && e.Int("rawLength") > 0);

        var first = expected[0];
        var firstId = ObjectId.Parse(first.Str("id"));
        int firstStored = first.Int("storedLength"), firstRaw = first.Int("rawLength");
        void OpenFirst(byte[] bytes, BlobType type, long offset, DomainKeys under) =>
            BlobSealer.Open(dataKey, type, firstId, offset, bytes.AsSpan(0, firstStored), firstRaw, new byte[firstRaw], under, "vector blob");

        // Any flipped byte of a blob fails that blob; of the header or trailer, the header.
        var badBlob = (byte[])pack.Clone();
        badBlob[10] ^= 1;
        Assert.Throws<CorruptObjectException>(() => OpenFirst(badBlob, info.Type, 0, domain));
        // The same bytes at another offset (nonce) or under the other blob type (AAD) do not open.
        Assert.Throws<CorruptObjectException>(() => OpenFirst(pack, BlobType.Tree, 0, domain));
        Assert.Throws<CorruptObjectException>(() => OpenFirst(pack, info.Type, 1, domain));
        // Verified under another domain's blob-ID key (the repository domain), the content does not hash to its ID.
        var otherDomain = Assert.Throws<CorruptObjectException>(() => OpenFirst(pack, info.Type, 0, keys.Own));
        Assert.Contains("hash", otherDomain.Message, StringComparison.Ordinal);
        foreach (int back in new[] { 1, 5, 9, 20, 122, 123, 122 + v.Int("sealedHeaderLength") })
        {
            var bad = (byte[])pack.Clone();
            bad[^back] ^= 1;
            Assert.Throws<CorruptObjectException>(() => PackHeaderReader.Parse(bad, packId, read));
        }
    }

    private sealed record IndexCase(string Name, DomainId Domain, byte[] SignerScalar, string? CertHost, DomainId CertDomain, IndexPack[] Packs, SignerTrust Trust, string Why);

    /// <summary>A full key's file of the repository domain; a certified writer's of its own domain; a full key's of that writer's domain (prune repacking).</summary>
    private static IndexCase[] IndexCases() =>
    [
        new("full-key", DomainId.Repository, Fixed.RepositorySigningScalar, null, default, FormatVectorTests.SampleIndexPacks(), SignerTrust.Repository,
            "signed by the repository key: its packs may have either origin"),
        new("writer", Fixed.WriterDomain, Fixed.WriterScalar, "web1", Fixed.WriterDomain, FormatVectorTests.WriterIndexPacks(), SignerTrust.CertifiedWriter,
            "signed by a writer certified for this domain: every pack has origin writer"),
        new("full-key-in-writer-domain", Fixed.WriterDomain, Fixed.RepositorySigningScalar, null, default, FormatVectorTests.SampleIndexPacks(), SignerTrust.Repository,
            "a full key writes into a writer's domain when prune repacks it; that writer reads the file too"),
    ];

    /// <summary>A stored index file built from the spec: "DDIX" | 2 | domain | signer block | salt | sealed plaintext | signature.</summary>
    private static byte[] SpecIndexFile(DomainId domain, byte[] signerScalar, byte[] certificate, byte[] salt, byte[] plaintext, int version = 2,
        DomainId? sealUnder = null)
    {
        byte[] aad = [.. "DDIX"u8, (byte)version, .. domain.ToArray(), .. SignerBlock(Fixed.PublicOf(signerScalar), certificate), .. salt];
        var subkey = Hkdf(DomainKey(sealUnder ?? domain, "index"), salt, "dedup.index.v2");
        byte[] signed = [.. aad, .. Seal(subkey, new byte[12], plaintext, aad)];
        return [.. signed, .. Sign(signerScalar, signed)];
    }

    private static byte[] CertificateFor(string? host, DomainId domain, byte[] signerScalar) =>
        host is null ? [] : Certificate(Fixed.PublicOf(signerScalar), host, domain);

    private static JsonObject IndexFileJson(IndexCase c, byte[] salt)
    {
        var cert = CertificateFor(c.CertHost, c.CertDomain, c.SignerScalar);
        var plain = FormatVectorTests.SpecIndexPlaintext(c.Packs);
        var stored = SpecIndexFile(c.Domain, c.SignerScalar, cert, salt, plain);
        var indexKey = DomainKey(c.Domain, "index");
        return new JsonObject
        {
            ["name"] = c.Name,
            ["why"] = c.Why,
            ["domainIdHex"] = J.Hex(c.Domain.ToArray()),
            ["indexKeyHex"] = J.Hex(indexKey),
            ["signerPublicHex"] = J.Hex(Fixed.PublicOf(c.SignerScalar)),
            ["certificateHex"] = J.Hex(cert),
            ["saltHex"] = J.Hex(salt),
            ["subkeyHex"] = J.Hex(Hkdf(indexKey, salt, "dedup.index.v2")),
            ["plaintextHex"] = J.Hex(plain),
            ["storedHex"] = J.Hex(stored),
            ["objectName"] = "index/" + ObjectId.HashOf(stored),
            ["trust"] = c.Trust.ToString(),
            ["packs"] = FormatVectorTests.IndexPacksJson(c.Packs),
        };
    }

    /// <summary>Well-formed files whose signer the trust rules refuse for their domain: readers skip them unread.</summary>
    private static List<(string Why, byte[] Bytes)> UntrustedIndexFiles(byte[] salt)
    {
        var plain = FormatVectorTests.SpecIndexPlaintext(FormatVectorTests.WriterIndexPacks());
        var writerCert = CertificateFor("web1", Fixed.WriterDomain, Fixed.WriterScalar);
        var badSignature = SpecIndexFile(Fixed.WriterDomain, Fixed.WriterScalar, writerCert, salt, plain);
        badSignature[^1] ^= 1;
        return
        [
            ("a writer's file in another domain than its certificate's (sealed under that domain's key)",
                SpecIndexFile(Fixed.GroupDomain, Fixed.WriterScalar, writerCert, salt, plain)),
            ("an uncertified signer", SpecIndexFile(Fixed.WriterDomain, Fixed.StrangerScalar, [], salt, plain)),
            ("a certificate made for another writer key", SpecIndexFile(Fixed.WriterDomain, Fixed.StrangerScalar, writerCert, salt, plain)),
            ("the signature does not verify", badSignature),
        ];
    }

    /// <summary>Files that fail to open for the domain and trust given: the reader reports them damaged.</summary>
    private static JsonArray RejectedIndexFiles(byte[] salt)
    {
        var writerCert = CertificateFor("web1", Fixed.WriterDomain, Fixed.WriterScalar);
        var writerPlain = FormatVectorTests.SpecIndexPlaintext(FormatVectorTests.WriterIndexPacks());
        var good = SpecIndexFile(Fixed.WriterDomain, Fixed.WriterScalar, writerCert, salt, writerPlain);
        var sealedFlipped = (byte[])good.Clone();
        sealedFlipped[^80] ^= 1;
        JsonObject Reject(string why, byte[] bytes, DomainId openAs, SignerTrust trust) => new()
        {
            ["why"] = why, ["openAsDomainHex"] = J.Hex(openAs.ToArray()), ["trust"] = trust.ToString(), ["hex"] = J.Hex(bytes),
        };
        return
        [
            Reject("a certified writer's file (valid signature) claiming a pack with origin full key",
                SpecIndexFile(Fixed.WriterDomain, Fixed.WriterScalar, writerCert, salt, FormatVectorTests.SpecIndexPlaintext(FormatVectorTests.SampleIndexPacks())),
                Fixed.WriterDomain, SignerTrust.CertifiedWriter),
            Reject("opened as another domain than its header names", good, Fixed.GroupDomain, SignerTrust.CertifiedWriter),
            Reject("header names the writer domain but the part is sealed under another domain's index key",
                SpecIndexFile(Fixed.WriterDomain, Fixed.WriterScalar, writerCert, salt, writerPlain, sealUnder: Fixed.GroupDomain), Fixed.WriterDomain, SignerTrust.CertifiedWriter),
            Reject("a byte of the sealed part changed", sealedFlipped, Fixed.WriterDomain, SignerTrust.CertifiedWriter),
            Reject("version 1", SpecIndexFile(Fixed.WriterDomain, Fixed.WriterScalar, writerCert, salt, writerPlain, version: 1), Fixed.WriterDomain, SignerTrust.CertifiedWriter),
            Reject("bad magic", [(byte)'X', .. good[1..]], Fixed.WriterDomain, SignerTrust.CertifiedWriter),
            Reject("certificate length runs past the end", good[..(4 + 1 + 16 + 65 + 2 + 10)], Fixed.WriterDomain, SignerTrust.CertifiedWriter),
            Reject("truncated: no room for tag and signature", good[..(good.Length - writerPlain.Length - 1)], Fixed.WriterDomain, SignerTrust.CertifiedWriter),
        ];
    }

    [Fact]
    public void IndexFileVectors()
    {
        var v = VectorFiles.Load("index-file.json", () =>
        {
            var salt = Fixed.Seq(0x60, 32);
            return new JsonObject
            {
                ["description"] = "Stored index files: \"DDIX\" | version 2 | domain (16) | signer block: signer public key (65), certificate length (u16 LE), certificate | salt (32) | AES-256-GCM(HKDF-SHA256(the domain's index key, salt, \"dedup.index.v2\"), zero nonce, plaintext (index.json), AAD = every byte before it) | ECDSA P-256 signature (64, r||s, low s) by the signer over every byte before it. trust is what the trust rules give the signer for the file's domain; a writer's file may only list packs with origin writer. untrusted: files a reader skips unread (trust Untrusted). rejects: files that fail to open as openAsDomainHex with the given trust. The salt is fixed here; writers MUST use a fresh random one. ECDSA signatures are randomized, so regenerating changes them. spec/repository-format.md, \"Index files\".",
                ["repositorySigningPublicHex"] = J.Hex(Fixed.RepositorySigningPublic),
                ["files"] = new JsonArray(IndexCases().Select(c => (JsonNode)IndexFileJson(c, salt)).ToArray()),
                ["untrusted"] = J.Rejects(UntrustedIndexFiles(salt)),
                ["rejects"] = RejectedIndexFiles(salt),
            };
        });

        Assert.Equal(J.Hex(Fixed.RepositorySigningPublic), v.Str("repositorySigningPublicHex"));
        var trust = Fixed.Trust();
        using var keys = Fixed.FullKeys();
        var files = v.Arr("files").ToList();
        using var writer = Fixed.WriterKeys(Fixed.WriterScalar, Fixed.WriterDomain, files.Single(f => f.Str("name") == "writer").Bytes("certificateHex"));
        Assert.Equal(3, files.Count);
        foreach (var f in files)
        {
            var stored = f.Bytes("storedHex");
            string name = f.Str("objectName");
            Assert.Equal(name, Layout.Index(ObjectId.HashOf(stored)));
            var header = IndexFile.ReadHeader(stored, name);
            Assert.Equal(f.Domain("domainIdHex"), header.Domain);
            Assert.Equal(f.Str("signerPublicHex"), J.Hex(header.Signer));
            Assert.Equal(f.Str("certificateHex"), J.Hex(header.Certificate));
            Assert.True(header.SignatureValid);
            var signer = trust.Evaluate(header.Signer, header.Certificate, header.SignatureValid, header.Domain, DateTimeOffset.UnixEpoch);
            Assert.Equal(f.Str("trust"), signer.Trust.ToString());

            var domain = keys.For(header.Domain);
            Assert.Equal(f.Str("indexKeyHex"), J.Hex(domain.IndexKey.Span));
            Assert.Equal(f.Str("subkeyHex"), J.Hex(Hkdf(f.Bytes("indexKeyHex"), f.Bytes("saltHex"), "dedup.index.v2")));
            var expected = FormatVectorTests.IndexPacksFrom(f.GetProperty("packs"));
            var packs = new List<IndexPack>();
            IndexFile.Open(stored, domain, signer.Trust, name, packs.Add);
            FormatVectorTests.AssertSamePacks(expected, packs);
            using (var w = new PooledBufferWriter())
            {
                IndexCodec.Write(w, packs);
                Assert.Equal(f.Str("plaintextHex"), J.Hex(w.WrittenSpan));
            }

            // The writer reads the files of its own domain, whoever signed them, and no other domain's.
            if (header.Domain == writer.Own.Id)
            {
                var byWriter = new List<IndexPack>();
                IndexFile.Open(stored, writer.Own, signer.Trust, name, byWriter.Add);
                FormatVectorTests.AssertSamePacks(expected, byWriter);
            }
            else
            {
                Assert.False(writer.CanUse(header.Domain));
                Assert.Throws<MissingCapabilityException>(() => writer.For(header.Domain));
            }

            // Any changed byte makes the signature fail or the file fail to open, never yields other packs.
            foreach (int i in new[] { 0, 4, 5, 20, 21, 90, stored.Length - 100, stored.Length - 65, stored.Length - 1 })
            {
                var bad = (byte[])stored.Clone();
                bad[i] ^= 0x01;
                try
                {
                    Assert.False(IndexFile.ReadHeader(bad, name).SignatureValid, $"flipped byte {i}: signature still verifies");
                }
                catch (CorruptObjectException)
                {
                }
            }

            // The production writer makes the same file up to salt and signature: same length, same packs.
            var signingKeys = header.Signer.AsSpan().SequenceEqual(Fixed.RepositorySigningPublic) ? keys : writer;
            var resealed = IndexFile.Seal(packs, domain, signingKeys);
            Assert.Equal(stored.Length, resealed.Length);
            Assert.Equal(J.Hex(stored.AsSpan(0, 4 + 1 + 16 + 65 + 2 + header.Certificate.Length)), J.Hex(resealed.AsSpan(0, 4 + 1 + 16 + 65 + 2 + header.Certificate.Length)));
            var again = new List<IndexPack>();
            IndexFile.Open(resealed, domain, signer.Trust, "resealed", again.Add);
            FormatVectorTests.AssertSamePacks(expected, again);
        }

        // A writer cannot even produce a file claiming full-key origins with the production writer.
        Assert.Throws<InvalidOperationException>(() => IndexFile.Seal(FormatVectorTests.SampleIndexPacks(), writer.Own, writer));

        var untrusted = v.Arr("untrusted").ToList();
        Assert.Equal(4, untrusted.Count);
        foreach (var e in untrusted)
        {
            var header = IndexFile.ReadHeader(e.Bytes("hex"), "untrusted index vector");
            var signer = trust.Evaluate(header.Signer, header.Certificate, header.SignatureValid, header.Domain, DateTimeOffset.UnixEpoch);
            Assert.True(signer.Trust == SignerTrust.Untrusted, $"{e.Str("why")}: trusted as {signer.Trust}");
            Assert.NotNull(signer.Problem);
        }

        var rejects = v.Arr("rejects").ToList();
        Assert.Equal(8, rejects.Count);
        foreach (var e in rejects)
        {
            var bytes = e.Bytes("hex");
            var domain = keys.For(e.Domain("openAsDomainHex"));
            var given = Enum.Parse<SignerTrust>(e.Str("trust"));
            var ex = Record.Exception(() => IndexFile.Open(bytes, domain, given, "index vector", _ => { }));
            Assert.True(ex is CorruptObjectException, $"{e.Str("why")}: expected a CorruptObjectException, got {ex?.GetType().Name ?? "none"}");
        }
    }
}
