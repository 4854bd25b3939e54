using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Keys;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Snapshots;
using Dedup.Repository.Trust;
using Xunit;
using static Dedup.Tests.Spec.SpecCrypto;

namespace Dedup.Tests.Spec;

/// <summary>
/// The signed objects of spec/repository-format.md and spec/prune-protocol.md (format version 2) against
/// spec/test-vectors/: snapshots with every trust case, prune marks and backup markers. Generators follow the spec with
/// fixed data keys and ephemeral scalars (ECDSA signatures are randomized); loaders use the production code with the
/// repository signing key, the revocations and the storage time, and assert the trust each object earns.
/// Regenerate with DEDUP_WRITE_VECTORS=1 only for a deliberate format change.
/// </summary>
public class SignedVectorTests
{
    private static readonly DateTimeOffset Claimed = new(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero);
    private static readonly DateTimeOffset Stored = Claimed.AddMinutes(1);
    private static readonly DateTimeOffset RevokedAt = new(2025, 1, 2, 3, 30, 0, TimeSpan.Zero);

    private static byte[] RevokedWriterPublic => Fixed.PublicOf(Fixed.RevokedWriterScalar);

    /// <summary>A revocation (unchanged since v1): "DDRV" | 1 | revoked at (i64 LE ms) | writer public key | repository signature.</summary>
    private static byte[] SpecRevocation(byte[] writerPublic, DateTimeOffset at)
    {
        byte[] signed = [.. "DDRV"u8, 1, .. Le64(at.ToUnixTimeMilliseconds()), .. writerPublic];
        return [.. signed, .. Sign(Fixed.RepositorySigningScalar, signed)];
    }

    private static JsonObject RevocationsJson() => new()
    {
        ["writerPublicHex"] = J.Hex(RevokedWriterPublic),
        ["revokedAtMs"] = RevokedAt.ToUnixTimeMilliseconds(),
        ["hex"] = J.Hex(SpecRevocation(RevokedWriterPublic, RevokedAt)),
    };

    private static TrustPolicy LoadTrust(JsonElement v, byte[] repositorySigning) =>
        new(repositorySigning, v.Arr("revocations").Select(r =>
        {
            var revocation = Revocation.Open(r.Bytes("hex"), repositorySigning, "revocation vector");
            Assert.Equal(r.Str("writerPublicHex"), J.Hex(revocation.WriterPublicKey));
            Assert.Equal(r.Long("revokedAtMs"), revocation.RevokedAt.ToUnixTimeMilliseconds());
            return revocation;
        }).ToList());

    /// <summary>Who signs: a scalar, and the host and domain its certificate names (none for the repository key and strangers).</summary>
    private sealed record SignerSpec(byte[] Scalar, string? CertHost, DomainId CertDomain)
    {
        private byte[]? _certificate;

        public byte[] Public => Fixed.PublicOf(Scalar);

        /// <summary>Made once per signer (ECDSA is randomized): a writer presents the one certificate its key file holds.</summary>
        public byte[] Certificate() => _certificate ??= CertHost is null ? [] : SpecCrypto.Certificate(Public, CertHost, CertDomain);
    }

    private static readonly SignerSpec RepositoryKey = new(Fixed.RepositorySigningScalar, null, default);
    private static readonly SignerSpec WriterKey = new(Fixed.WriterScalar, "web1", Fixed.WriterDomain);
    private static readonly SignerSpec RevokedKey = new(Fixed.RevokedWriterScalar, "web3", Fixed.GroupDomain);
    private static readonly SignerSpec StrangerKey = new(Fixed.StrangerScalar, null, default);

    private sealed record SnapshotCase(string Name, string Why, SignerSpec Signer, DomainId Domain, string PayloadHost, DateTimeOffset ClaimedTime,
        DateTimeOffset StoredAt, SignerTrust HeaderTrust, SignerTrust Trust);

    private static readonly SnapshotCase[] SnapshotCases =
    [
        new("full-key", "the repository key; its claimed time counts however far from the storage time", RepositoryKey, DomainId.Repository, "admin",
            Claimed, Claimed.AddDays(3), SignerTrust.Repository, SignerTrust.Repository),
        new("write-only-key", "a writer certified for this host and domain", WriterKey, Fixed.WriterDomain, "web1", Claimed, Stored,
            SignerTrust.CertifiedWriter, SignerTrust.CertifiedWriter),
        new("write-only-key-other-domain", "a certified writer claiming another domain than its certificate's", WriterKey, Fixed.GroupDomain, "web1",
            Claimed, Stored, SignerTrust.Untrusted, SignerTrust.Untrusted),
        new("write-only-key-other-host", "a certified writer naming another host in the payload (only the read key sees it)", WriterKey, Fixed.WriterDomain, "db1",
            Claimed, Stored, SignerTrust.CertifiedWriter, SignerTrust.Untrusted),
        new("revoked-before-storage", "a writer revoked before the store recorded the snapshot", RevokedKey, Fixed.GroupDomain, "web3",
            Claimed, RevokedAt.AddMinutes(5), SignerTrust.Untrusted, SignerTrust.Untrusted),
        new("revoked-after-storage", "the same writer, snapshot stored before its revocation", RevokedKey, Fixed.GroupDomain, "web3",
            Claimed, Stored, SignerTrust.CertifiedWriter, SignerTrust.CertifiedWriter),
        new("uncertified-signer", "a key without a certificate of this repository", StrangerKey, Fixed.WriterDomain, "web1", Claimed, Stored,
            SignerTrust.Untrusted, SignerTrust.Untrusted),
        new("writer-future-time", "a certified writer dating its snapshot 3 hours after the storage time: the storage time counts", WriterKey, Fixed.WriterDomain, "web1",
            Stored.AddHours(3), Stored, SignerTrust.CertifiedWriter, SignerTrust.CertifiedWriter),
    ];

    private static SnapshotInfo SampleInfo(string host, DateTimeOffset time) => new()
    {
        Time = time,
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
        var cert = c.Signer.Certificate();
        var info = SampleInfo(c.PayloadHost, c.ClaimedTime);
        var json = JsonSerializer.SerializeToUtf8Bytes(info);
        var dataKey = Fixed.Scalar("dedup.vectors.snapshot-data-key." + c.Name);
        var eph = Fixed.Scalar("dedup.vectors.ephemeral.snapshot." + c.Name);
        byte[] header =
        [
            .. "DDSN"u8, 2, .. Le64(c.ClaimedTime.ToUnixTimeMilliseconds()), .. c.Domain.ToArray(), .. SignerBlock(c.Signer.Public, cert),
            .. Wrap(dataKey, eph), .. Le32((uint)(json.Length + 16)),
        ];
        byte[] signed = [.. header, .. Seal(dataKey, new byte[12], json, header)];
        byte[] stored = [.. signed, .. Sign(c.Signer.Scalar, signed)];
        // Retention and 'latest' go by the claimed time for the repository key, by the storage time for anyone else.
        var effective = c.Trust == SignerTrust.Repository ? c.ClaimedTime : c.StoredAt;
        return new JsonObject
        {
            ["name"] = c.Name,
            ["why"] = c.Why,
            ["storedHex"] = J.Hex(stored),
            ["objectName"] = "snapshots/" + ObjectId.HashOf(stored),
            ["domainIdHex"] = J.Hex(c.Domain.ToArray()),
            ["dataKeyHex"] = J.Hex(dataKey),
            ["ephemeralScalarHex"] = J.Hex(eph),
            ["signerPublicHex"] = J.Hex(c.Signer.Public),
            ["signerScalarHex"] = J.Hex(c.Signer.Scalar),
            ["certificateHex"] = J.Hex(cert),
            ["claimedTimeMs"] = c.ClaimedTime.ToUnixTimeMilliseconds(),
            ["storedAtMs"] = c.StoredAt.ToUnixTimeMilliseconds(),
            ["headerTrust"] = c.HeaderTrust.ToString(),
            ["trust"] = c.Trust.ToString(),
            ["certifiedHost"] = c.Signer.CertHost,
            ["effectiveTimeMs"] = effective.ToUnixTimeMilliseconds(),
            ["payloadJson"] = Encoding.UTF8.GetString(json),
        };
    }

    [Fact]
    public void SnapshotVectors()
    {
        var v = VectorFiles.Load("snapshot.json", () => new JsonObject
        {
            ["description"] = "Snapshot objects: \"DDSN\" | version 2 | claimed time (i64 LE ms) | domain (16) | signer block: signer public key (65), certificate length (u16 LE), certificate | wrapped data key (113) | sealed payload length (u32 LE) | AES-256-GCM(data key, zero nonce, payload JSON, AAD = every byte before it) | ECDSA P-256 signature (64, r||s, low s) over every byte before it. Trust: Repository (signed by the config's signing key), CertifiedWriter (signer certified by it, header domain = certificate domain, stored before any revocation of the signer, and, once the payload is read, payload host = certificate host), Untrusted. headerTrust is what a reader without the read key can tell. storedAtMs is the storage time the store reports; effectiveTimeMs the time retention and 'latest' use (the claimed time for the repository key, else the storage time). ECDSA signatures are randomized, so regenerating changes them. spec/repository-format.md, \"Snapshots\".",
            ["readScalarHex"] = J.Hex(Fixed.ReadScalar),
            ["repositorySigningPublicHex"] = J.Hex(Fixed.RepositorySigningPublic),
            ["revocations"] = new JsonArray(RevocationsJson()),
            ["vectors"] = new JsonArray(SnapshotCases.Select(c => (JsonNode)SnapshotJson(c)).ToArray()),
        });

        var repoSigning = v.Bytes("repositorySigningPublicHex");
        Assert.Equal(J.Hex(Fixed.RepositorySigningPublic), J.Hex(repoSigning));
        Assert.Equal(J.Hex(Fixed.ReadScalar), v.Str("readScalarHex"));
        var trust = LoadTrust(v, repoSigning);
        using var keys = Fixed.FullKeys();
        var cases = v.Arr("vectors").ToList();
        Assert.Equal(SnapshotCases.Select(c => c.Name), cases.Select(c => c.Str("name")));
        foreach (var c in cases)
        {
            var stored = c.Bytes("storedHex");
            var id = ObjectId.HashOf(stored);
            string name = c.Str("objectName");
            var storedAt = c.Ms("storedAtMs");
            Assert.Equal(name, Layout.Snapshot(id));
            var header = SnapshotEnvelope.ReadHeader(stored, id, name, trust, storedAt);
            Assert.Equal(c.Str("headerTrust"), header.Trust.ToString());
            Assert.Equal(c.Long("claimedTimeMs"), header.ClaimedTime.ToUnixTimeMilliseconds());
            Assert.Equal(c.Domain("domainIdHex"), header.Domain);
            Assert.Equal(c.Str("signerPublicHex"), J.Hex(header.SignerPublicKey));
            Assert.Equal(c.Str("certificateHex"), J.Hex(stored.AsSpan(4 + 1 + 8 + 16 + 65 + 2, c.Bytes("certificateHex").Length)));

            var (opened, info) = SnapshotEnvelope.Open(stored, id, name, keys, trust, storedAt);
            Assert.Equal(c.Str("trust"), opened.Trust.ToString());
            Assert.Equal(opened.Trust == SignerTrust.Untrusted, opened.Signer.Problem is not null);
            if (opened.Trust == SignerTrust.CertifiedWriter)
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
            var loaded = new LoadedSnapshot(opened, info, storedAt);
            Assert.Equal(c.Long("effectiveTimeMs"), SnapshotTimes.Effective(loaded).ToUnixTimeMilliseconds());

            // A write-only key reads the header but cannot open the payload.
            using (var writer = Fixed.CertifiedWriter())
            {
                Assert.Equal(c.Str("headerTrust"), SnapshotEnvelope.ReadHeader(stored, id, name, trust, storedAt).Trust.ToString());
                Assert.Throws<MissingCapabilityException>(() => SnapshotEnvelope.Open(stored, id, "s", writer, trust, storedAt));
            }

            // Changing any byte makes the snapshot untrusted or unreadable, never silently different.
            foreach (int i in new[] { 5, 13, 20, 40, 80, stored.Length - 100, stored.Length - 1 })
            {
                var bad = (byte[])stored.Clone();
                bad[i] ^= 1;
                try
                {
                    var (h, _) = SnapshotEnvelope.Open(bad, ObjectId.HashOf(bad), "s", keys, trust, storedAt);
                    Assert.Equal(SignerTrust.Untrusted, h.Trust);
                }
                catch (CorruptObjectException)
                {
                }
            }
        }

        // The production writer: the same header up to the wrapped key, and the same payload.
        foreach (var (c, signer) in new (SnapshotCase, RepositoryKeys?)[] { (SnapshotCases[0], keys), (SnapshotCases[1], null) })
        {
            var expected = cases.Single(x => x.Str("name") == c.Name);
            using var writer = Fixed.WriterKeys(Fixed.WriterScalar, Fixed.WriterDomain, expected.Bytes("certificateHex"));
            var sealedBy = signer ?? writer;
            var info = SampleInfo(c.PayloadHost, c.ClaimedTime);
            var resealed = SnapshotEnvelope.Seal(info, c.Domain, sealedBy);
            var stored = expected.Bytes("storedHex");
            Assert.Equal(stored.Length, resealed.Length);
            int prefix = 4 + 1 + 8 + 16 + 65 + 2 + expected.Bytes("certificateHex").Length;
            Assert.Equal(J.Hex(stored.AsSpan(0, prefix)), J.Hex(resealed.AsSpan(0, prefix)));
            var (h, opened) = SnapshotEnvelope.Open(resealed, ObjectId.HashOf(resealed), "resealed", keys, trust, c.StoredAt);
            Assert.Equal(c.Trust, h.Trust);
            Assert.Equal(expected.Str("payloadJson"), Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(opened)));
        }
    }

    private static readonly DateTimeOffset MarkedAt = new(2025, 1, 3, 0, 0, 0, TimeSpan.Zero);
    private static readonly ObjectId[] MarkedPacks = [Fixed.Id("marked pack 0"), Fixed.Id("marked pack 1")];

    /// <summary>A prune mark: "DDMK" | 2 | mark time (i64 LE ms) | count (varint) | pack IDs | signature by <paramref name="signerScalar"/>.</summary>
    private static byte[] SpecMark(long ms, ObjectId[] packs, byte[] signerScalar, int version = 2, string magic = "DDMK", ulong? count = null, byte[]? tail = null)
    {
        byte[] signed = [.. Encoding.ASCII.GetBytes(magic), (byte)version, .. Le64(ms), .. Varint(count ?? (ulong)packs.Length), .. packs.SelectMany(p => p.ToArray()), .. tail ?? []];
        return [.. signed, .. Sign(signerScalar, signed)];
    }

    [Fact]
    public void PruneMarkVectors()
    {
        long ms = MarkedAt.ToUnixTimeMilliseconds();
        var v = VectorFiles.Load("prune-mark.json", () =>
        {
            var stored = SpecMark(ms, MarkedPacks, Fixed.RepositorySigningScalar);
            var changedPack = (byte[])stored.Clone();
            changedPack[20] ^= 1;
            return new JsonObject
            {
                ["description"] = "A prune mark (marks/<sha256>): \"DDMK\" | version 2 | mark time (i64 LE, Unix ms) | pack count (varint) | pack IDs (32 each) | ECDSA P-256 signature (64, r||s, low s) by the repository signing key over every byte before it. Not encrypted: any key, write-only ones included, reads it with the config's signing public key alone. rejects: marks a reader ignores (the repository key signed every one of them whose reason is not about the signature). ECDSA signatures are randomized, so regenerating changes them. spec/prune-protocol.md.",
                ["repositorySigningPublicHex"] = J.Hex(Fixed.RepositorySigningPublic),
                ["markedAtMs"] = ms,
                ["packs"] = J.HexArray(MarkedPacks),
                ["storedHex"] = J.Hex(stored),
                ["objectName"] = PruneMark.Prefix + ObjectId.HashOf(stored),
                ["rejects"] = J.Rejects(
                [
                    ("signed by a certified writer's key", SpecMark(ms, MarkedPacks, Fixed.WriterScalar)),
                    ("signed by a key of no standing", SpecMark(ms, MarkedPacks, Fixed.StrangerScalar)),
                    ("a byte of a pack ID changed", changedPack),
                    ("signature with s above n/2", HighS(stored)),
                    ("version 1", SpecMark(ms, MarkedPacks, Fixed.RepositorySigningScalar, version: 1)),
                    ("bad magic", SpecMark(ms, MarkedPacks, Fixed.RepositorySigningScalar, magic: "DDMX")),
                    ("count larger than the pack IDs present", SpecMark(ms, MarkedPacks, Fixed.RepositorySigningScalar, count: 3)),
                    ("trailing byte after the pack IDs", SpecMark(ms, MarkedPacks, Fixed.RepositorySigningScalar, tail: [0])),
                    ("mark time before 1970", SpecMark(-1, MarkedPacks, Fixed.RepositorySigningScalar)),
                    ("truncated: shorter than magic, version and signature", stored[..68]),
                ]),
            };
        });

        var repoSigning = v.Bytes("repositorySigningPublicHex");
        Assert.Equal(J.Hex(Fixed.RepositorySigningPublic), J.Hex(repoSigning));
        var stored = v.Bytes("storedHex");
        var id = ObjectId.HashOf(stored);
        Assert.Equal(v.Str("objectName"), PruneMark.Prefix + id);
        var storedAt = MarkedAt.AddSeconds(2);
        var mark = PruneMark.Open(stored, id, storedAt, repoSigning, v.Str("objectName"));
        Assert.Equal(v.Long("markedAtMs"), mark.MarkedAt.ToUnixTimeMilliseconds());
        Assert.Equal(storedAt, mark.StoredAt);
        Assert.Equal(v.Arr("packs").Select(p => p.GetString()), mark.Packs.Select(p => p.ToString()));
        Assert.True(SigningKey.Verify(repoSigning, stored.AsSpan(0, stored.Length - 64), stored.AsSpan(stored.Length - 64)));

        // The production writer makes the same bytes up to the signature; a write-only key cannot make one.
        using (var keys = Fixed.FullKeys())
        {
            var sealedMark = PruneMark.Seal(mark.MarkedAt, mark.Packs.ToArray(), keys);
            Assert.Equal(J.Hex(stored.AsSpan(0, stored.Length - 64)), J.Hex(sealedMark.AsSpan(0, sealedMark.Length - 64)));
            Assert.Equal(mark.Packs, PruneMark.Open(sealedMark, ObjectId.HashOf(sealedMark), storedAt, repoSigning, "resealed").Packs);
        }

        using (var writer = Fixed.CertifiedWriter())
        {
            Assert.Throws<MissingCapabilityException>(() => PruneMark.Seal(MarkedAt, MarkedPacks, writer));
        }

        var rejects = v.Arr("rejects").ToList();
        Assert.Equal(10, rejects.Count);
        foreach (var e in rejects)
        {
            var bytes = e.Bytes("hex");
            var ex = Record.Exception(() => PruneMark.Open(bytes, ObjectId.HashOf(bytes), storedAt, repoSigning, "mark vector"));
            Assert.True(ex is CorruptObjectException, $"{e.Str("why")}: expected a CorruptObjectException, got {ex?.GetType().Name ?? "none"}");
        }
    }

    private static readonly (TombstoneKind Kind, ObjectId Id)[] Buried = [(TombstoneKind.Snapshot, Fixed.Id("forgotten snapshot")), (TombstoneKind.KeyFile, Fixed.Id("removed key file"))];

    /// <summary>A tombstone: "DDTS" | 1 | time (i64 LE ms) | count (varint) | (kind (1), ID (32)) each | signature by <paramref name="signerScalar"/>.</summary>
    private static byte[] SpecTombstone(long ms, (TombstoneKind Kind, ObjectId Id)[] entries, byte[] signerScalar, int version = 1, byte? kindOverride = null)
    {
        byte[] signed = [.. "DDTS"u8, (byte)version, .. Le64(ms), .. Varint((ulong)entries.Length),
            .. entries.SelectMany(e => (byte[])[kindOverride ?? (byte)e.Kind, .. e.Id.ToArray()])];
        return [.. signed, .. Sign(signerScalar, signed)];
    }

    [Fact]
    public void TombstoneVectors()
    {
        long ms = MarkedAt.ToUnixTimeMilliseconds();
        var v = VectorFiles.Load("tombstone.json", () =>
        {
            var stored = SpecTombstone(ms, Buried, Fixed.RepositorySigningScalar);
            return new JsonObject
            {
                ["description"] = "A tombstone (tombstones/<sha256>): \"DDTS\" | version 1 | time (i64 LE, Unix ms) | entry count (varint) | per entry: kind (1: 0 snapshot, 1 key file) and object ID (32) | ECDSA P-256 signature (64, r||s, low s) by the repository signing key over every byte before it. Not encrypted. Readers treat a buried snapshot or key file that is in the store again as gone (a replay). rejects: tombstones a reader ignores. spec/repository-format.md, \"Tombstones\".",
                ["repositorySigningPublicHex"] = J.Hex(Fixed.RepositorySigningPublic),
                ["buriedAtMs"] = ms,
                ["entries"] = new JsonArray(Buried.Select(e => (JsonNode)new JsonObject { ["kind"] = (int)e.Kind, ["id"] = e.Id.ToString() }).ToArray()),
                ["storedHex"] = J.Hex(stored),
                ["objectName"] = Tombstone.Prefix + ObjectId.HashOf(stored),
                ["rejects"] = J.Rejects(
                [
                    ("signed by a certified writer's key", SpecTombstone(ms, Buried, Fixed.WriterScalar)),
                    ("signed by a key of no standing", SpecTombstone(ms, Buried, Fixed.StrangerScalar)),
                    ("unknown entry kind", SpecTombstone(ms, Buried, Fixed.RepositorySigningScalar, kindOverride: 2)),
                    ("version 2", SpecTombstone(ms, Buried, Fixed.RepositorySigningScalar, version: 2)),
                    ("signature with s above n/2", HighS(stored)),
                    ("truncated", stored[..60]),
                ]),
            };
        });

        var repoSigning = v.Bytes("repositorySigningPublicHex");
        var stored = v.Bytes("storedHex");
        var id = ObjectId.HashOf(stored);
        Assert.Equal(v.Str("objectName"), Tombstone.Prefix + id);
        var tomb = Tombstone.Open(stored, id, repoSigning, v.Str("objectName"));
        Assert.Equal(v.Long("buriedAtMs"), tomb.BuriedAt.ToUnixTimeMilliseconds());
        Assert.Equal(v.Arr("entries").Select(e => (e.GetProperty("kind").GetInt32(), e.Str("id"))), tomb.Entries.Select(e => ((int)e.Kind, e.Object.ToString())));
        using (var keys = Fixed.FullKeys())
        {
            var sealedTomb = Tombstone.Seal(tomb.BuriedAt, tomb.Entries.ToArray(), keys);
            Assert.Equal(J.Hex(stored.AsSpan(0, stored.Length - 64)), J.Hex(sealedTomb.AsSpan(0, sealedTomb.Length - 64)));
        }
        using (var writer = Fixed.CertifiedWriter())
            Assert.Throws<MissingCapabilityException>(() => Tombstone.Seal(MarkedAt, Buried, writer));
        foreach (var e in v.Arr("rejects"))
        {
            var bytes = e.Bytes("hex");
            var ex = Record.Exception(() => Tombstone.Open(bytes, ObjectId.HashOf(bytes), repoSigning, "tombstone vector"));
            Assert.True(ex is CorruptObjectException, $"{e.Str("why")}: expected a CorruptObjectException, got {ex?.GetType().Name ?? "none"}");
        }
    }

    private sealed record MarkerCase(string Name, string Why, SignerSpec Signer, string Host, DateTimeOffset StoredAt, SignerTrust Trust);

    private static readonly MarkerCase[] MarkerCases =
    [
        new("full-key", "the repository key", RepositoryKey, "admin", Stored, SignerTrust.Repository),
        new("write-only-key", "a certified writer announcing a backup of its own host", WriterKey, "web1", Stored, SignerTrust.CertifiedWriter),
        new("write-only-key-other-host", "a certified writer announcing another host's backup", WriterKey, "db1", Stored, SignerTrust.Untrusted),
        new("revoked-before-storage", "a writer revoked before the store recorded the marker", RevokedKey, "web3", RevokedAt.AddMinutes(5), SignerTrust.Untrusted),
        new("uncertified-signer", "a key without a certificate of this repository", StrangerKey, "web1", Stored, SignerTrust.Untrusted),
    ];

    /// <summary>
    /// A backup marker: "DDIF" | 2 | signer block | wrapped data key | AES-256-GCM(data key, zero nonce, plaintext, AAD = every
    /// byte before it) | signature. Plaintext: 1 | start time (i64 LE ms) | host (varint length + UTF-8) | 16 random bytes.
    /// </summary>
    private static (byte[] Stored, byte[] Plaintext) SpecMarker(MarkerCase c, byte[] dataKey, byte[] eph, int version = 2, int innerVersion = 1)
    {
        byte[] plain = [(byte)innerVersion, .. Le64(Claimed.ToUnixTimeMilliseconds()), .. Str(c.Host), .. Fixed.Seq(0xA0, 16)];
        byte[] header = [.. "DDIF"u8, (byte)version, .. SignerBlock(c.Signer.Public, c.Signer.Certificate()), .. Wrap(dataKey, eph)];
        byte[] signed = [.. header, .. Seal(dataKey, new byte[12], plain, header)];
        return ([.. signed, .. Sign(c.Signer.Scalar, signed)], plain);
    }

    private static byte[] MarkerDataKey(string name) => Fixed.Scalar("dedup.vectors.marker-data-key." + name);

    private static byte[] MarkerEphemeral(string name) => Fixed.Scalar("dedup.vectors.ephemeral.marker." + name);

    [Fact]
    public void BackupMarkerVectors()
    {
        var v = VectorFiles.Load("backup-marker.json", () =>
        {
            var writerCase = MarkerCases[1];
            var (good, _) = SpecMarker(writerCase, MarkerDataKey(writerCase.Name), MarkerEphemeral(writerCase.Name));
            var sealedFlipped = (byte[])good.Clone();
            sealedFlipped[^70] ^= 1;
            return new JsonObject
            {
                ["description"] = "Backup markers (inflight/<sha256>): \"DDIF\" | version 2 | signer block: signer public key (65), certificate length (u16 LE), certificate | wrapped data key (113) | AES-256-GCM(data key, zero nonce, plaintext, AAD = every byte before it) | ECDSA P-256 signature (64, r||s, low s) by the signer over every byte before it. Plaintext: version 1 | start time (i64 LE ms) | host (varint length + UTF-8) | 16 random bytes (fixed here). Only the read key opens it. trust: Repository, CertifiedWriter (certified, not revoked before storedAtMs, and the host is the certificate's) or Untrusted, which prune ignores. rejects: markers that fail to open. Data keys and ephemeral scalars are fixed here; writers MUST use fresh random ones. ECDSA signatures are randomized, so regenerating changes them. spec/prune-protocol.md.",
                ["readScalarHex"] = J.Hex(Fixed.ReadScalar),
                ["repositorySigningPublicHex"] = J.Hex(Fixed.RepositorySigningPublic),
                ["revocations"] = new JsonArray(RevocationsJson()),
                ["vectors"] = new JsonArray(MarkerCases.Select(c =>
                {
                    var dataKey = MarkerDataKey(c.Name);
                    var eph = MarkerEphemeral(c.Name);
                    var (stored, plain) = SpecMarker(c, dataKey, eph);
                    return (JsonNode)new JsonObject
                    {
                        ["name"] = c.Name,
                        ["why"] = c.Why,
                        ["storedHex"] = J.Hex(stored),
                        ["objectName"] = BackupMarker.Prefix + ObjectId.HashOf(stored),
                        ["dataKeyHex"] = J.Hex(dataKey),
                        ["ephemeralScalarHex"] = J.Hex(eph),
                        ["plaintextHex"] = J.Hex(plain),
                        ["signerPublicHex"] = J.Hex(c.Signer.Public),
                        ["certificateHex"] = J.Hex(c.Signer.Certificate()),
                        ["startedAtMs"] = Claimed.ToUnixTimeMilliseconds(),
                        ["host"] = c.Host,
                        ["storedAtMs"] = c.StoredAt.ToUnixTimeMilliseconds(),
                        ["trust"] = c.Trust.ToString(),
                    };
                }).ToArray()),
                ["rejects"] = J.Rejects(
                [
                    ("version 1", SpecMarker(writerCase, MarkerDataKey("v1"), MarkerEphemeral("v1"), version: 1).Stored),
                    ("plaintext version 2", SpecMarker(writerCase, MarkerDataKey("inner"), MarkerEphemeral("inner"), innerVersion: 2).Stored),
                    ("a byte of the sealed part changed", sealedFlipped),
                    ("bad magic", [(byte)'X', .. good[1..]]),
                    ("truncated: one byte short of tag and signature (the plaintext is 30 bytes)", good[..^31]),
                ]),
            };
        });

        var repoSigning = v.Bytes("repositorySigningPublicHex");
        Assert.Equal(J.Hex(Fixed.RepositorySigningPublic), J.Hex(repoSigning));
        Assert.Equal(J.Hex(Fixed.ReadScalar), v.Str("readScalarHex"));
        var trust = LoadTrust(v, repoSigning);
        using var keys = Fixed.FullKeys();
        using var writer = Fixed.CertifiedWriter();
        var cases = v.Arr("vectors").ToList();
        Assert.Equal(MarkerCases.Select(c => c.Name), cases.Select(c => c.Str("name")));
        foreach (var c in cases)
        {
            var stored = c.Bytes("storedHex");
            var id = ObjectId.HashOf(stored);
            string name = c.Str("objectName");
            Assert.Equal(name, BackupMarker.Prefix + id);
            var storedAt = c.Ms("storedAtMs");
            var marker = BackupMarker.Open(stored, id, storedAt, keys, trust, name);
            Assert.Equal(c.Str("trust"), marker.Signer.Trust.ToString());
            Assert.Equal(c.Str("signerPublicHex"), J.Hex(marker.Signer.PublicKey));
            Assert.Equal(c.Str("certificateHex"), J.Hex(stored.AsSpan(4 + 1 + 65 + 2, c.Bytes("certificateHex").Length)));
            Assert.Equal(c.Str("host"), marker.Host);
            Assert.Equal(c.Long("startedAtMs"), marker.StartedAt.ToUnixTimeMilliseconds());
            Assert.Equal(storedAt, marker.StoredAt);
            var dataKey = new byte[32];
            using (var read = ReadKey.Import(Fixed.ReadScalar))
            {
                Assert.True(KeyWrap.TryUnwrap(stored.AsSpan(4 + 1 + 65 + 2 + c.Bytes("certificateHex").Length, 113), read, dataKey));
            }

            Assert.Equal(c.Str("dataKeyHex"), J.Hex(dataKey));
            Assert.Throws<MissingCapabilityException>(() => BackupMarker.Open(stored, id, storedAt, writer, trust, name));

            // A signature that fails makes the marker untrusted, not unreadable: prune then ignores it.
            var badSignature = (byte[])stored.Clone();
            badSignature[^1] ^= 1;
            Assert.Equal(SignerTrust.Untrusted, BackupMarker.Open(badSignature, ObjectId.HashOf(badSignature), storedAt, keys, trust, "m").Signer.Trust);
        }

        // The production writer: same layout and length, opens to the same host and time.
        var resealed = BackupMarker.Seal(Claimed, "web1", writer);
        var writerVector = cases.Single(c => c.Str("name") == "write-only-key");
        Assert.Equal(writerVector.Bytes("storedHex").Length - writerVector.Bytes("certificateHex").Length, resealed.Length - writer.Certificate.Length);
        var reopened = BackupMarker.Open(resealed, ObjectId.HashOf(resealed), Stored, keys, trust, "resealed");
        Assert.Equal((SignerTrust.CertifiedWriter, "web1", Claimed), (reopened.Signer.Trust, reopened.Host, reopened.StartedAt));

        var rejects = v.Arr("rejects").ToList();
        Assert.Equal(5, rejects.Count);
        foreach (var e in rejects)
        {
            var bytes = e.Bytes("hex");
            var ex = Record.Exception(() => BackupMarker.Open(bytes, ObjectId.HashOf(bytes), Stored, keys, trust, "marker vector"));
            Assert.True(ex is CorruptObjectException, $"{e.Str("why")}: expected a CorruptObjectException, got {ex?.GetType().Name ?? "none"}");
        }
    }
}
