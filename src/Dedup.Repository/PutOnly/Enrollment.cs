using System.Text.Json;
using System.Text.Json.Serialization;
using Dedup.Format;

namespace Dedup.Repository.PutOnly;

/// <summary>
/// What a host needs to back up without reading the repository: the config's exact bytes (its hash binds the key file
/// to it), the host's key file's exact bytes (sealed under the host's password: nothing else here is secret) and its ID,
/// and the repository URL if the admin gave it. Written by 'key add --write-only --enroll FILE' on the admin host,
/// installed by 'enroll FILE' on the backup host. JSON, version 1:
/// <c>{"version":1,"repository":URL|null,"config":BASE64,"key_id":HEX,"key_file":BASE64}</c>.
/// </summary>
public sealed record Enrollment(byte[] Config, byte[] KeyFile, ObjectId KeyId, string? RepositoryUrl)
{
    public const int CurrentVersion = 1;

    /// <summary>The repository's ID, from the config.</summary>
    public ObjectId RepositoryId => ObjectId.Parse(RepositoryConfig.Parse(Config).Id);
    /// <summary>Config (≤ 1 MiB) and key file (≤ 64 KiB) in base64, with room for the rest.</summary>
    public const int MaxSize = 2 * 1024 * 1024;

    /// <summary>The enrolment of key file <paramref name="keyId"/>, read by the admin (who may read config and keys).</summary>
    public static async Task<Enrollment> CreateAsync(Repository admin, ObjectId keyId, string? repositoryUrl, CancellationToken ct = default)
    {
        var config = await StoredObjects.ReadAllAsync(admin.Storage, Layout.Config, 1024 * 1024, ct).ConfigureAwait(false);
        if (!ObjectId.HashOf(config).ToArray().AsSpan().SequenceEqual(admin.ConfigHash))
            throw new RepositoryException("The repository's config changed since it was opened; run the command again.");
        var key = await StoredObjects.ReadVerifiedAsync(admin.Storage, Layout.Key(keyId), keyId, Keys.KeyFile.MaxSize, ct).ConfigureAwait(false);
        return new Enrollment(config, key, keyId, repositoryUrl);
    }

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(
        new EnrollmentJson(CurrentVersion, RepositoryUrl, Convert.ToBase64String(Config), KeyId.ToString(), Convert.ToBase64String(KeyFile)),
        PutOnlyJson.Default.EnrollmentJson);

    /// <summary>Parses and checks an enrolment file: the key file must hash to its ID, and both must parse.</summary>
    public static Enrollment Parse(ReadOnlySpan<byte> bytes, string source)
    {
        RepositoryException Bad(string why) => new($"{source} is not a usable enrolment file: {why}. Ask the admin for a new one ('dedup key add --write-only --enroll FILE').");
        if (bytes.Length > MaxSize) throw Bad("it is too large");
        EnrollmentJson? json;
        try
        {
            json = JsonSerializer.Deserialize(bytes, PutOnlyJson.Default.EnrollmentJson);
        }
        catch (JsonException)
        {
            throw Bad("it is not enrolment JSON");
        }
        if (json is null || json.Config is null || json.KeyFile is null || json.KeyId is null) throw Bad("fields are missing");
        if (json.Version != CurrentVersion) throw Bad($"version {json.Version} is not known to this program");
        byte[] config, key;
        try
        {
            config = Convert.FromBase64String(json.Config);
            key = Convert.FromBase64String(json.KeyFile);
        }
        catch (FormatException)
        {
            throw Bad("its config or key file is not base64");
        }
        if (!ObjectId.TryParse(json.KeyId, out var keyId)) throw Bad("its key ID is not 64 hex digits");
        if (ObjectId.HashOf(key) != keyId) throw Bad("its key file does not match its key ID");
        try
        {
            RepositoryConfig.Parse(config);
            Keys.KeyFile.Parse(key, Layout.Key(keyId));
        }
        catch (CorruptObjectException e)
        {
            throw Bad(e.Message);
        }
        return new Enrollment(config, key, keyId, json.Repository);
    }
}

/// <summary>An enrolment file's JSON (see <see cref="Enrollment"/>).</summary>
internal sealed record EnrollmentJson(
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("repository")] string? Repository,
    [property: JsonPropertyName("config")] string Config,
    [property: JsonPropertyName("key_id")] string KeyId,
    [property: JsonPropertyName("key_file")] string KeyFile);
