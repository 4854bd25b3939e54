using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;
using Dedup.Repository.Packs;
using Dedup.Repository.Snapshots;

namespace Dedup.Fuzz.Targets;

/// <summary>A whole pack: trailer, wrapped key, sealed header, and every blob it lists (as check --read-data reads it).</summary>
public sealed class PackTarget : IFuzzTarget
{
    public string Name => "pack";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            PackHeaderReader.Parse(data, ObjectId.Empty, FuzzKeys.ReadKey, "fuzz pack");
        }
        catch (CorruptObjectException)
        {
        }
        // Verify reports damage in its result and must never throw for any input.
        PackVerifier.Verify(data, ObjectId.Empty, null, FuzzKeys.Shared);
    }

    public IEnumerable<byte[]> Seeds()
    {
        foreach (var (type, blobs) in SeedData.PackContents())
        {
            using var writer = new PackWriter(type, FuzzKeys.Shared.ReadPublicKey, 1024 * 1024);
            foreach (var b in blobs) writer.Add(FuzzKeys.Shared.BlobId(b), b);
            using var pack = writer.Finish();
            yield return pack.Bytes.ToArray();
        }
    }
}

/// <summary>An index file as stored: the sealed envelope, then the codec.</summary>
public sealed class IndexFileTarget : IFuzzTarget
{
    public string Name => "index-file";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            IndexFile.Open(data, FuzzKeys.Shared, "index/fuzz", _ => { });
        }
        catch (CorruptObjectException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds() => SeedData.IndexPacks().Select(p => IndexFile.Seal(p, FuzzKeys.Shared));
}

/// <summary>A snapshot object: envelope parse, signature and certificate checks, key unwrap, payload and JSON.</summary>
public sealed class SnapshotTarget : IFuzzTarget
{
    public string Name => "snapshot";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            SnapshotEnvelope.Open(data, ObjectId.Empty, "snapshots/fuzz", FuzzKeys.Shared, FuzzKeys.SigningPublicKey);
        }
        catch (CorruptObjectException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds() => SeedData.Snapshots().Select(s => SnapshotEnvelope.Seal(s, FuzzKeys.Shared));
}

/// <summary>
/// A key file: JSON parse, then opening it with the fuzz password. A hostile file may ask Argon2 for 4 GiB and
/// 100 passes (the reader's limits); the target refuses costly parameters before calling, so that each run
/// stays fast. A wrong password is a null result, not an error.
/// </summary>
public sealed class KeyFileTarget : IFuzzTarget
{
    public string Name => "key-file";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            var key = KeyFile.Parse(data, "keys/fuzz");
            if (key.MemoryKiB > FuzzKeys.MaxFuzzMemoryKiB || key.Iterations > 2 || key.Parallelism > 2) return;
            using var keys = key.TryOpen(System.Text.Encoding.UTF8.GetBytes(FuzzKeys.Password), FuzzKeys.Config, FuzzKeys.ConfigHash, "keys/fuzz");
        }
        catch (CorruptObjectException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds()
    {
        var created = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        yield return KeyFile.Create(FuzzKeys.Shared, FuzzKeys.ConfigHash, System.Text.Encoding.UTF8.GetBytes(FuzzKeys.Password), FuzzKeys.Kdf, "host", "user", created);
        yield return KeyFile.Create(FuzzKeys.Shared, FuzzKeys.ConfigHash, "other password"u8, FuzzKeys.Kdf, "hôst 2", "üser", created);
    }
}

/// <summary>The plaintext config JSON.</summary>
public sealed class ConfigTarget : IFuzzTarget
{
    public string Name => "config";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            RepositoryConfig.Parse(data);
        }
        catch (CorruptObjectException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds()
    {
        yield return FuzzKeys.ConfigBytes;
        yield return System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(FuzzKeys.Config);
    }
}
