using System.Security.Cryptography;
using System.Text;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Keys;

namespace Dedup.Fuzz;

/// <summary>
/// Fixed, public keys for fuzzing: every secret is the SHA-256 of a label, so seeds written today still open
/// tomorrow and the fuzzer can reach the parsers behind the authentication checks in valid seeds. Never a real key.
/// </summary>
public static class FuzzKeys
{
    public const string Password = "fuzz";

    /// <summary>Cheap enough to run thousands of times a second; hostile key files asking more are refused before Argon2.</summary>
    public static Argon2Parameters Kdf { get; } = new(8, 1, 1);
    public const int MaxFuzzMemoryKiB = 64;

    private static byte[] Secret(string label) => SHA256.HashData(Encoding.UTF8.GetBytes("dedup-fuzz/" + label));

    /// <summary>A fresh instance each call: RepositoryKeys are disposable and targets may run on several threads.</summary>
    public static RepositoryKeys Keys()
    {
        var read = ReadKey.Import(Secret("read"));
        return new RepositoryKeys(KeyKind.Full, RepositoryId, new SecretBytes(Secret("chunker")), new SecretBytes(Secret("blob-id")),
            new SecretBytes(Secret("index")), SigningKey.Import(Secret("signing")), read, read.PublicKey, []);
    }

    public static ObjectId RepositoryId { get; } = new(Secret("repository-id"));

    /// <summary>One shared instance for the targets (never disposed): building keys costs more than most parses.</summary>
    public static RepositoryKeys Shared { get; } = Keys();

    public static ReadKey ReadKey { get; } = ReadKey.Import(Secret("read"));

    private static readonly Lazy<(RepositoryConfig Config, byte[] Bytes)> ConfigLazy = new(() =>
    {
        using var keys = Keys();
        var config = new RepositoryConfig
        {
            Version = 1, Id = RepositoryId.ToString(), Created = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
            ChunkerMin = 16 * 1024, ChunkerAverage = 64 * 1024, ChunkerMax = 256 * 1024, PackSize = 1024 * 1024, Compression = "lz4",
            ReadPublicKey = Convert.ToBase64String(keys.ReadPublicKey), SigningPublicKey = Convert.ToBase64String(keys.SigningKey.PublicKey),
        };
        return (config, config.Serialize());
    });

    public static RepositoryConfig Config => ConfigLazy.Value.Config;
    public static byte[] ConfigBytes => ConfigLazy.Value.Bytes;
    public static byte[] ConfigHash => ObjectId.HashOf(ConfigBytes).ToArray();
    public static byte[] SigningPublicKey => Config.SigningPublicKeyBytes;
}
