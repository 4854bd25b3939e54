using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository;

namespace Dedup.Cli.Cli;

/// <summary>
/// Which key file to try first, and how much Argon2 work to accept (spec section 19): --key or DEDUP_KEY, else the key
/// this machine opened last for the same repository URL (remembered in the cache folder). A host whose credentials may
/// read only its own key file then opens without listing keys/, and a store full of planted key files costs one Argon2
/// run, not one per file.
/// </summary>
/// <param name="given">--key, DEDUP_KEY or the profile's key, resolved by the caller; null to use the remembered one.</param>
/// <param name="cacheDir">The cache folder (null: the default place).</param>
/// <param name="remember">False when the user asked that nothing be written to the cache (--no-cache).</param>
public sealed class KeyHints(string? given, string? cacheDir, string repositoryUrl, bool remember)
{
    private string HintFile => Path.Join(cacheDir ?? Archiver.Cache.TreeCache.DefaultBase(), "key-hints",
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(repositoryUrl)))[..32]);

    public OpenOptions OpenOptions() => new() { KeyHint = Hint(), KdfCeiling = Ceiling() };

    private ObjectId? Hint()
    {
        if (given is not null)
            return ObjectId.TryParse(given.ToLowerInvariant(), out var id) ? id
                : throw new UsageException($"--key takes a key file's full 64-digit ID ('dedup key list' shows them), not '{given}'");
        try
        {
            return File.Exists(HintFile) && ObjectId.TryParse(File.ReadAllText(HintFile).Trim(), out var remembered) ? remembered : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Remembers the key that opened, best effort: a read-only or missing cache only costs the hint.</summary>
    public void Remember(ObjectId key)
    {
        if (!remember) return;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(HintFile)!);
            File.WriteAllText(HintFile, key.ToString());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static Argon2Parameters Ceiling()
    {
        var text = Environment.GetEnvironmentVariable("DEDUP_KDF_CEILING");
        if (string.IsNullOrEmpty(text)) return Argon2Parameters.Ceiling;
        var parts = text.Split(':');
        if (parts.Length == 3 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var mib) && mib is > 0 and <= 4096
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var passes) && passes is > 0 and <= 100
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var lanes) && lanes is > 0 and <= 64)
            return new Argon2Parameters(mib * 1024, passes, lanes);
        throw new UsageException($"DEDUP_KDF_CEILING takes MiB:passes:lanes (e.g. 1024:16:16), not '{text}'");
    }
}
