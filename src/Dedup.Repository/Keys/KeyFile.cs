using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dedup.Crypto;
using Dedup.Format;

namespace Dedup.Repository.Keys;

/// <summary>
/// A key file (keys/&lt;sha256&gt;): a JSON envelope with the Argon2id parameters and the repository
/// secrets sealed under the password-derived key. The envelope's fields are the AEAD's associated
/// data, so editing any of them makes the file fail to open (spec/repository-format.md, "Key files").
/// </summary>
public sealed record KeyFile
{
    [JsonPropertyName("version")] public required int Version { get; init; }
    [JsonPropertyName("kind")] public required string Kind { get; init; }
    [JsonPropertyName("created")] public required string Created { get; init; }
    [JsonPropertyName("host")] public required string Host { get; init; }
    [JsonPropertyName("username")] public required string Username { get; init; }
    /// <summary>The key's snapshot-signing public key (base64), readable without the password so the admin can enumerate writers.</summary>
    [JsonPropertyName("signing_public_key")] public required string SigningPublicKey { get; init; }
    /// <summary>The dedup domain the key writes into (hex): the repository domain (zeros) for full keys.</summary>
    [JsonPropertyName("domain")] public required string Domain { get; init; }
    [JsonPropertyName("kdf")] public required string Kdf { get; init; }
    [JsonPropertyName("memory_kib")] public required int MemoryKiB { get; init; }
    [JsonPropertyName("iterations")] public required int Iterations { get; init; }
    [JsonPropertyName("parallelism")] public required int Parallelism { get; init; }
    [JsonPropertyName("salt")] public required string Salt { get; init; }
    [JsonPropertyName("nonce")] public required string Nonce { get; init; }
    [JsonPropertyName("payload")] public required string Payload { get; init; }

    public static string KindName(KeyKind k) => k == KeyKind.Full ? "full" : "write-only";

    public const int CurrentVersion = 2;
    /// <summary>The largest key file a reader accepts (spec "Reader limits").</summary>
    public const int MaxSize = 64 * 1024;

    /// <summary>
    /// The envelope fields as AEAD associated data: "dedup.key.v2", then each field as a varint byte length and its
    /// UTF-8 bytes, so no field's text can shift into another's.
    /// </summary>
    private byte[] AssociatedData()
    {
        using var w = new PooledBufferWriter();
        w.Write("dedup.key.v2"u8);
        foreach (var field in new[] { Kind, Created, Host, Username, SigningPublicKey, Domain, Kdf, MemoryKiB.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     Iterations.ToString(System.Globalization.CultureInfo.InvariantCulture), Parallelism.ToString(System.Globalization.CultureInfo.InvariantCulture), Salt })
            w.WriteString(field);
        return w.ToArray();
    }

    public static byte[] Create(RepositoryKeys keys, byte[] configHash, ReadOnlySpan<byte> password, Argon2Parameters kdf,
        string host, string username, DateTimeOffset created)
    {
        var salt = RandomNumberGenerator.GetBytes(PasswordKdf.SaltSize);
        var nonce = RandomNumberGenerator.GetBytes(Aead.NonceSize);
        var envelope = new KeyFile
        {
            Version = CurrentVersion, Kind = KindName(keys.Kind), Created = created.ToUniversalTime().ToString("O"), Host = host, Username = username,
            SigningPublicKey = Convert.ToBase64String(keys.SigningKey.PublicKey), Domain = keys.Own.Id.ToString(),
            Kdf = "argon2id", MemoryKiB = kdf.MemoryKiB, Iterations = kdf.Iterations, Parallelism = kdf.Parallelism,
            Salt = Convert.ToBase64String(salt), Nonce = Convert.ToBase64String(nonce), Payload = "",
        };
        using var payload = new PooledBufferWriter();
        KeyPayload.Write(payload, keys, configHash);
        var sealedPayload = new byte[payload.WrittenCount + Aead.TagSize];
        using (var key = PasswordKdf.Derive(password, salt, kdf))
            Aead.Seal(key.Span, nonce, payload.WrittenSpan, envelope.AssociatedData(), sealedPayload);
        return JsonSerializer.SerializeToUtf8Bytes(envelope with { Payload = Convert.ToBase64String(sealedPayload) }, JsonOptions.Indented.KeyFile);
    }

    public static KeyFile Parse(ReadOnlySpan<byte> bytes, string name)
    {
        KeyFile? k;
        try
        {
            k = JsonSerializer.Deserialize(bytes, JsonOptions.Strict.KeyFile);
        }
        catch (JsonException e)
        {
            throw new CorruptObjectException(name, "not a valid key file", e);
        }
        if (k is null || k.Version != CurrentVersion || k.Kdf != "argon2id" || (k.Kind != "full" && k.Kind != "write-only"))
            throw new CorruptObjectException(name, "unknown key file version, kind or KDF");
        if (!DomainId.TryParse(k.Domain, out var domain) || domain.IsRepository != (k.Kind == "full"))
            throw new CorruptObjectException(name, "bad dedup domain for its kind");
        return k;
    }

    [JsonIgnore] public Argon2Parameters KdfParameters => new(MemoryKiB, Iterations, Parallelism);

    /// <summary>Derives the key from the password and opens the payload; null when the password does not fit.</summary>
    /// <param name="ceiling">The most Argon2 work this reader agrees to do for one key file (spec "Reader limits"): a key
    /// file asking for more is refused with <see cref="KdfTooExpensiveException"/> before any work is done.</param>
    public RepositoryKeys? TryOpen(ReadOnlySpan<byte> password, RepositoryConfig config, byte[] configHash, string name, Argon2Parameters? ceiling = null)
    {
        byte[] salt, nonce, sealedPayload;
        try
        {
            salt = Convert.FromBase64String(Salt);
            nonce = Convert.FromBase64String(Nonce);
            sealedPayload = Convert.FromBase64String(Payload);
        }
        catch (FormatException e)
        {
            throw new CorruptObjectException(name, "bad base64", e);
        }
        if (salt.Length < 16 || nonce.Length != Aead.NonceSize || sealedPayload.Length < Aead.TagSize)
            throw new CorruptObjectException(name, "bad salt, nonce or payload size");
        try
        {
            KdfParameters.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CorruptObjectException(name, e.Message);
        }
        ceiling ??= Argon2Parameters.Ceiling;
        if (MemoryKiB > ceiling.MemoryKiB || Iterations > ceiling.Iterations || Parallelism > ceiling.Parallelism)
            throw new KdfTooExpensiveException(name, KdfParameters, ceiling);
        var plain = GC.AllocateArray<byte>(sealedPayload.Length - Aead.TagSize, pinned: true);
        try
        {
            using (var key = PasswordKdf.Derive(password, salt, KdfParameters))
                if (!Aead.TryOpen(key.Span, nonce, sealedPayload, AssociatedData(), plain)) return null;
            var (keys, recordedConfigHash) = KeyPayload.Read(plain, name, config);
            if (KindName(keys.Kind) != Kind || Convert.ToBase64String(keys.SigningKey.PublicKey) != SigningPublicKey || keys.Own.Id.ToString() != Domain)
            {
                keys.Dispose();
                throw new CorruptObjectException(name, "the envelope's kind, signing key or domain disagrees with the sealed payload");
            }
            if (keys.Kind == KeyKind.WriteOnly && keys.Certified(config.SigningPublicKeyBytes) is var certified
                && (certified is null || certified.Domain != keys.Own.Id || certified.Host != Host))
            {
                keys.Dispose();
                throw new CorruptObjectException(name, "its writer certificate is not valid for its host and domain");
            }
            if (!CryptographicOperations.FixedTimeEquals(recordedConfigHash, configHash) ||
                keys.RepositoryId != ObjectId.Parse(config.Id))
            {
                keys.Dispose();
                throw new CorruptObjectException(Layout.Config, "it does not match the hash its key file recorded: the config was modified or replaced");
            }
            return keys;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }
}
