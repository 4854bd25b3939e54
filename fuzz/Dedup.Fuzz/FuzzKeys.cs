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
    public static RepositoryKeys Keys() =>
        RepositoryKeys.Full(RepositoryId, new SecretBytes(Secret("master")), SigningKey.Import(Secret("signing")), ReadKey.Import(Secret("read")));

    /// <summary>A write-only key of a fixed domain, certified by <see cref="Shared"/> for host "fuzz-writer".</summary>
    public static RepositoryKeys Writer()
    {
        var domain = new DomainId(Secret("writer-domain").AsSpan(0, DomainId.Size));
        var writer = SigningKey.Import(Secret("writer-signing"));
        var certificate = WriterCertificate.Issue(Shared.SigningKey, writer.PublicKey, "fuzz-writer", domain);
        return RepositoryKeys.WriteOnly(RepositoryId, domain, DomainKeys.DeriveDomainSecret(Secret("master"), domain), writer, Shared.ReadPublicKey, certificate);
    }

    private static readonly Lazy<RepositoryKeys> WriterLazy = new(Writer);
    public static RepositoryKeys SharedWriter => WriterLazy.Value;

    private static readonly Lazy<Dedup.Repository.Trust.TrustPolicy> TrustLazy = new(MakeTrust);

    private static Dedup.Repository.Trust.TrustPolicy MakeTrust()
    {
        IReadOnlyList<Revocation> none = [];
        return new Dedup.Repository.Trust.TrustPolicy(Shared.SigningKey.PublicKey, none);
    }
    /// <summary>Whom the targets believe: the fuzz repository key, no revocations.</summary>
    public static Dedup.Repository.Trust.TrustPolicy Trust => TrustLazy.Value;

    public static ObjectId RepositoryId { get; } = new(Secret("repository-id"));

    /// <summary>One shared instance for the targets (never disposed): building keys costs more than most parses.</summary>
    public static RepositoryKeys Shared { get; } = Keys();

    public static ReadKey ReadKey { get; } = ReadKey.Import(Secret("read"));

    private static readonly Lazy<(RepositoryConfig Config, byte[] Bytes)> ConfigLazy = new(() =>
    {
        using var keys = Keys();
        var config = new RepositoryConfig
        {
            Version = RepositoryConfig.CurrentVersion, Id = RepositoryId.ToString(), Created = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
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
