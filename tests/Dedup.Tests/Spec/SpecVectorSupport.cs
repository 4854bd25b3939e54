using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;
using Dedup.Repository.Trust;

namespace Dedup.Tests.Spec;

/// <summary>
/// Reads and (with DEDUP_WRITE_VECTORS=1) writes the files of spec/test-vectors/. Generators build the bytes
/// from the text of spec/repository-format.md with fixed keys, salts and ephemeral scalars, mostly without the
/// production encoders, so that the loaders, which use the production code, check the code against the spec.
/// </summary>
internal static class VectorFiles
{
    public static bool Writing => Environment.GetEnvironmentVariable("DEDUP_WRITE_VECTORS") == "1";

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes the file from <paramref name="generate"/> when regenerating, then loads it as committed.</summary>
    public static JsonElement Load(string file, Func<JsonObject> generate)
    {
        string path = Path.Combine(RepoRoot(), "spec", "test-vectors", file);
        if (Writing)
        {
            File.WriteAllText(path, generate().ToJsonString(Options) + "\n");
        }

        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.Clone();
    }

    private static string RepoRoot([CallerFilePath] string sourceFile = "")
    {
        foreach (string? start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) })
        {
            for (var dir = start is null ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Dedup.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("Dedup.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Small helpers for reading vector JSON.</summary>
internal static class J
{
    public static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexStringLower(b);

    public static byte[] Bytes(this JsonElement e, string name) => Convert.FromHexString(e.GetProperty(name).GetString()!);

    public static string Str(this JsonElement e, string name) => e.GetProperty(name).GetString()!;

    public static int Int(this JsonElement e, string name) => e.GetProperty(name).GetInt32();

    public static long Long(this JsonElement e, string name) => e.GetProperty(name).GetInt64();

    public static DomainId Domain(this JsonElement e, string name) => new(e.Bytes(name));

    public static DateTimeOffset Ms(this JsonElement e, string name) => DateTimeOffset.FromUnixTimeMilliseconds(e.Long(name));

    public static IEnumerable<JsonElement> Arr(this JsonElement e, string name) => e.GetProperty(name).EnumerateArray();

    public static JsonArray HexArray(IEnumerable<ObjectId> ids) => new(ids.Select(i => (JsonNode)JsonValue.Create(i.ToString())!).ToArray());

    public static JsonArray StrArray(IEnumerable<string> s) => new(s.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray());

    /// <summary>A list of rejected inputs: each a reason and the bytes.</summary>
    public static JsonArray Rejects(IEnumerable<(string Why, byte[] Bytes)> rejects) =>
        new(rejects.Select(r => (JsonNode)new JsonObject { ["why"] = r.Why, ["hex"] = Hex(r.Bytes) }).ToArray());
}

/// <summary>
/// The fixed inputs every vector is made from. Scalars are SHA-256 of a label (valid P-256 scalars). The writer
/// domain stands for the random domain a write-only key gets by default; the group domain is the named group "web".
/// </summary>
internal static class Fixed
{
    public static byte[] Seq(int start, int count) => Enumerable.Range(start, count).Select(i => (byte)i).ToArray();

    public static byte[] Scalar(string label) => SHA256.HashData(Encoding.UTF8.GetBytes(label));

    public static ObjectId Id(string label) => ObjectId.HashOf(Encoding.UTF8.GetBytes(label));

    public static byte[] MasterSecret => Seq(0x00, 32);

    public static DomainId WriterDomain => new(Scalar("dedup.vectors.writer-domain").AsSpan(0, DomainId.Size));

    public const string GroupName = "web";

    public static DomainId GroupDomain => new(SpecCrypto.NamedDomain(MasterSecret, GroupName));

    public static byte[] ReadScalar => Scalar("dedup.vectors.read-key");

    public static byte[] RepositorySigningScalar => Scalar("dedup.vectors.repository-signing-key");

    public static byte[] WriterScalar => Scalar("dedup.vectors.writer-signing-key");

    public static byte[] RevokedWriterScalar => Scalar("dedup.vectors.revoked-writer-signing-key");

    public static byte[] StrangerScalar => Scalar("dedup.vectors.stranger-key");

    public static ObjectId RepositoryId => Id("dedup.vectors.repository");

    public static byte[] ReadPublic()
    {
        using var k = ReadKey.Import(ReadScalar);
        return k.PublicKey;
    }

    public static byte[] PublicOf(byte[] scalar)
    {
        using var k = SigningKey.Import(scalar);
        return k.PublicKey;
    }

    public static byte[] RepositorySigningPublic => PublicOf(RepositorySigningScalar);

    public static RepositoryKeys FullKeys() =>
        RepositoryKeys.Full(RepositoryId, new SecretBytes(MasterSecret), SigningKey.Import(RepositorySigningScalar), ReadKey.Import(ReadScalar));

    /// <summary>A write-only key of <paramref name="domain"/> holding <paramref name="certificate"/> (which may be empty or for anything).</summary>
    public static RepositoryKeys WriterKeys(byte[] signingScalar, DomainId domain, byte[] certificate) =>
        RepositoryKeys.WriteOnly(RepositoryId, domain, new SecretBytes(SpecCrypto.DomainSecret(MasterSecret, domain)), SigningKey.Import(signingScalar),
            ReadPublic(), certificate);

    /// <summary>The writer the vectors certify: host "web1" in the writer domain.</summary>
    public static RepositoryKeys CertifiedWriter() =>
        WriterKeys(WriterScalar, WriterDomain, SpecCrypto.Certificate(PublicOf(WriterScalar), "web1", WriterDomain));

    public static TrustPolicy Trust(params Revocation[] revocations) => new(RepositorySigningPublic, revocations);
}

/// <summary>The primitives written out from the spec text, independent of the production encoders.</summary>
internal static class SpecCrypto
{
    public static byte[] Varint(ulong v)
    {
        var o = new List<byte>();
        while (v >= 0x80)
        {
            o.Add((byte)(v | 0x80));
            v >>= 7;
        }

        o.Add((byte)v);
        return o.ToArray();
    }

    public static byte[] Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        return [.. Varint((ulong)b.Length), .. b];
    }

    public static byte[] Le64(long v)
    {
        var b = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(b, v);
        return b;
    }

    public static byte[] Le32(uint v)
    {
        var b = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    public static byte[] Le16(ushort v)
    {
        var b = new byte[2];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        return b;
    }

    /// <summary>AES-256-GCM, 16-byte tag appended.</summary>
    public static byte[] Seal(byte[] key, byte[] nonce, byte[] plaintext, byte[] aad)
    {
        using var gcm = new AesGcm(key, 16);
        var o = new byte[plaintext.Length + 16];
        gcm.Encrypt(nonce, plaintext, o.AsSpan(0, plaintext.Length), o.AsSpan(plaintext.Length), aad);
        return o;
    }

    public static byte[] Hkdf(byte[] ikm, byte[] salt, string info) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 32, salt, Encoding.ASCII.GetBytes(info));

    public static byte[] Point(ECParameters p) => [0x04, .. p.Q.X!, .. p.Q.Y!];

    /// <summary>The ECIES wrap of spec "Key wrap", with a fixed ephemeral scalar instead of a random one.</summary>
    public static byte[] Wrap(byte[] dataKey, byte[] recipientPublic, byte[] ephemeralScalar, out byte[] shared, out byte[] wrapKey)
    {
        using var eph = ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = ephemeralScalar });
        var ephPoint = Point(eph.ExportParameters(false));
        using var recipient = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = recipientPublic[1..33], Y = recipientPublic[33..65] },
        });
        shared = eph.DeriveRawSecretAgreement(recipient.PublicKey);
        wrapKey = Hkdf(shared, [.. ephPoint, .. recipientPublic], "dedup.wrap.v1");
        return [.. ephPoint, .. Seal(wrapKey, new byte[12], dataKey, [])];
    }

    public static byte[] Wrap(byte[] dataKey, byte[] ephemeralScalar) => Wrap(dataKey, Fixed.ReadPublic(), ephemeralScalar, out _, out _);

    /// <summary>domain secret = HKDF-SHA256(ikm = master secret, salt = domain ID, info = "dedup.domain.v2").</summary>
    public static byte[] DomainSecret(byte[] master, DomainId domain) => Hkdf(master, domain.ToArray(), "dedup.domain.v2");

    /// <summary>One of a domain's keys: HKDF-SHA256(domain secret, empty salt, "dedup.domain.{chunker,blob-id,index}.v2").</summary>
    public static byte[] DomainKey(byte[] domainSecret, string which) => Hkdf(domainSecret, [], $"dedup.domain.{which}.v2");

    public static byte[] DomainKey(DomainId domain, string which) => DomainKey(DomainSecret(Fixed.MasterSecret, domain), which);

    /// <summary>A named group's domain: the first 16 bytes of HMAC-SHA256(master, "dedup.domain-name.v2" ‖ UTF-8 name).</summary>
    public static byte[] NamedDomain(byte[] master, string name) =>
        HMACSHA256.HashData(master, (byte[])[.. "dedup.domain-name.v2"u8, .. Encoding.UTF8.GetBytes(name)])[..16];

    public static byte[] BlobId(DomainId domain, byte[] plaintext) => HMACSHA256.HashData(DomainKey(domain, "blob-id"), plaintext);

    public static byte[] Sign(byte[] scalar, byte[] message)
    {
        using var key = SigningKey.Import(scalar);
        var sig = new byte[SigningKey.SignatureSize];
        key.Sign(message, sig);
        return sig;
    }

    /// <summary>
    /// A writer certificate: host length (1) | host | domain (16) | signature over "dedup.writer-cert.v2" ‖ writer public
    /// key ‖ the bytes before the signature, by <paramref name="issuerScalar"/> (the repository signing key unless a
    /// reject wants another).
    /// </summary>
    public static byte[] Certificate(byte[] writerPublic, string host, DomainId domain, byte[]? issuerScalar = null)
    {
        byte[] signed = [(byte)Encoding.UTF8.GetByteCount(host), .. Encoding.UTF8.GetBytes(host), .. domain.ToArray()];
        return CertificateOver(writerPublic, signed, issuerScalar);
    }

    public static byte[] CertificateOver(byte[] writerPublic, byte[] signed, byte[]? issuerScalar = null) =>
        [.. signed, .. Sign(issuerScalar ?? Fixed.RepositorySigningScalar, [.. "dedup.writer-cert.v2"u8, .. writerPublic, .. signed])];

    /// <summary>The signer block of snapshots, index files and backup markers: public point (65) | u16 LE length | certificate.</summary>
    public static byte[] SignerBlock(byte[] signerPublic, byte[] certificate) => [.. signerPublic, .. Le16((ushort)certificate.Length), .. certificate];

    private static readonly System.Numerics.BigInteger P256Order =
        System.Numerics.BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber);

    /// <summary>
    /// The object with its trailing signature's s replaced by n − s: still valid ECDSA, but not the low-s encoding readers
    /// accept, so that no signed object has a second valid form.
    /// </summary>
    public static byte[] HighS(byte[] signed)
    {
        var s = new System.Numerics.BigInteger(signed.AsSpan(signed.Length - 32), isUnsigned: true, isBigEndian: true);
        var high = (P256Order - s).ToByteArray(isUnsigned: true, isBigEndian: true);
        var o = (byte[])signed.Clone();
        o.AsSpan(o.Length - 32).Clear();
        high.CopyTo(o, o.Length - high.Length);
        return o;
    }
}
