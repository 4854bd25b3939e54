using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;

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

    public static IEnumerable<JsonElement> Arr(this JsonElement e, string name) => e.GetProperty(name).EnumerateArray();

    public static JsonArray HexArray(IEnumerable<ObjectId> ids) => new(ids.Select(i => (JsonNode)JsonValue.Create(i.ToString())!).ToArray());

    public static JsonArray StrArray(IEnumerable<string> s) => new(s.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray());
}

/// <summary>The fixed inputs every vector is made from. Scalars are SHA-256 of a label (valid P-256 scalars).</summary>
internal static class Fixed
{
    public static byte[] Seq(int start, int count) => Enumerable.Range(start, count).Select(i => (byte)i).ToArray();

    public static byte[] Scalar(string label) => SHA256.HashData(Encoding.UTF8.GetBytes(label));

    public static ObjectId Id(string label) => ObjectId.HashOf(Encoding.UTF8.GetBytes(label));

    public static byte[] ChunkerSecret => Seq(0x00, 32);

    public static byte[] BlobIdKey => Seq(0x20, 32);

    public static byte[] IndexKey => Seq(0x40, 32);

    public static byte[] ReadScalar => Scalar("dedup.vectors.read-key");

    public static byte[] RepositorySigningScalar => Scalar("dedup.vectors.repository-signing-key");

    public static byte[] WriterScalar => Scalar("dedup.vectors.writer-signing-key");

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

    public static RepositoryKeys FullKeys()
    {
        var read = ReadKey.Import(ReadScalar);
        return new RepositoryKeys(KeyKind.Full, RepositoryId, new SecretBytes(ChunkerSecret), new SecretBytes(BlobIdKey),
            new SecretBytes(IndexKey), SigningKey.Import(RepositorySigningScalar), read, read.PublicKey, []);
    }

    public static RepositoryKeys WriterKeys(byte[] signingScalar, byte[] certificate) =>
        new(KeyKind.WriteOnly, RepositoryId, new SecretBytes(ChunkerSecret), new SecretBytes(BlobIdKey),
            new SecretBytes(IndexKey), SigningKey.Import(signingScalar), null, ReadPublic(), certificate);
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

    public static byte[] BlobId(byte[] plaintext) => HMACSHA256.HashData(Fixed.BlobIdKey, plaintext);
}
