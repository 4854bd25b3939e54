using System.Text.Json;
using System.Text.Json.Serialization;
using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Repository;

/// <summary>
/// The "config" object: plaintext JSON, written once by init. It is authenticated by the SHA-256
/// of its bytes, which every key file carries inside its encrypted payload.
/// </summary>
public sealed record RepositoryConfig
{
    public const int CurrentVersion = 2;

    [JsonPropertyName("version")] public required int Version { get; init; }
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("created")] public required DateTimeOffset Created { get; init; }
    [JsonPropertyName("chunker_min")] public required int ChunkerMin { get; init; }
    [JsonPropertyName("chunker_avg")] public required int ChunkerAverage { get; init; }
    [JsonPropertyName("chunker_max")] public required int ChunkerMax { get; init; }
    [JsonPropertyName("pack_size")] public required int PackSize { get; init; }
    [JsonPropertyName("compression")] public required string Compression { get; init; }
    /// <summary>The P-256 point data keys are wrapped to (base64 of 65 bytes).</summary>
    [JsonPropertyName("read_public_key")] public required string ReadPublicKey { get; init; }
    /// <summary>The P-256 ECDSA key that full keys sign snapshots and write-only key certificates with.</summary>
    [JsonPropertyName("signing_public_key")] public required string SigningPublicKey { get; init; }

    public const int MinPackSize = 1024 * 1024;
    public const int MaxPackSize = 512 * 1024 * 1024;

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions.Indented.RepositoryConfig);

    public static RepositoryConfig Parse(ReadOnlySpan<byte> bytes)
    {
        RepositoryConfig? c;
        try
        {
            c = JsonSerializer.Deserialize(bytes, JsonOptions.Strict.RepositoryConfig);
        }
        catch (JsonException e)
        {
            throw new CorruptObjectException(Layout.Config, "not valid config JSON", e);
        }
        if (c is null) throw new CorruptObjectException(Layout.Config, "empty");
        // A known older format or a newer one gets its own message; anything else is damage.
        if (c.Version == 1 || c.Version > CurrentVersion && c.Version < 100) throw new UnsupportedFormatException(c.Version);
        if (c.Version != CurrentVersion) throw new CorruptObjectException(Layout.Config, $"unknown format version {c.Version}");
        if (!ObjectId.TryParse(c.Id, out _)) throw new CorruptObjectException(Layout.Config, "bad repository ID");
        if (c.ChunkerMin < 64 || c.ChunkerMin >= c.ChunkerAverage || c.ChunkerAverage >= c.ChunkerMax || c.ChunkerMax > Limits.MaxBlobSize
            || (c.ChunkerAverage & (c.ChunkerAverage - 1)) != 0)
            throw new CorruptObjectException(Layout.Config, "invalid chunker parameters");
        if (c.PackSize < MinPackSize || c.PackSize > MaxPackSize) throw new CorruptObjectException(Layout.Config, "invalid pack size");
        if (c.Compression != "lz4") throw new CorruptObjectException(Layout.Config, $"unknown compression '{c.Compression}'");
        if (DecodeKey(c.ReadPublicKey) is null || DecodeKey(c.SigningPublicKey) is null)
            throw new CorruptObjectException(Layout.Config, "invalid public key");
        return c;
    }

    [JsonIgnore] public byte[] ReadPublicKeyBytes => DecodeKey(ReadPublicKey)!;
    [JsonIgnore] public byte[] SigningPublicKeyBytes => DecodeKey(SigningPublicKey)!;

    private static byte[]? DecodeKey(string b64)
    {
        try
        {
            var k = Convert.FromBase64String(b64);
            return k.Length == 65 && k[0] == 4 ? k : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>
/// The repository's stored JSON types, source-generated: no reflection at run time, so the ahead-of-time compiled
/// binary reads and writes the same bytes as the JIT build.
/// </summary>
[JsonSerializable(typeof(RepositoryConfig))]
[JsonSerializable(typeof(KeyFile))]
[JsonSerializable(typeof(SnapshotInfo))]
internal sealed partial class RepositoryJson : JsonSerializerContext;

internal static class JsonOptions
{
    /// <summary>Default options: what snapshot payloads have always been written with.</summary>
    public static RepositoryJson Compact => RepositoryJson.Default;

    public static readonly RepositoryJson Indented = new(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Rejects trailing commas, comments and duplicate properties, and bounds depth, for bytes read from storage.</summary>
    public static readonly RepositoryJson Strict = new(new JsonSerializerOptions
    {
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 16,
        AllowDuplicateProperties = false,
    });
}
