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
        PackVerifier.Verify(data, ObjectId.Empty, null, null, FuzzKeys.Shared);
    }

    public IEnumerable<byte[]> Seeds()
    {
        foreach (var (type, blobs) in SeedData.PackContents())
        {
            using var writer = new PackWriter(type, FuzzKeys.Shared.Own.Id, FuzzKeys.Shared.ReadPublicKey, 1024 * 1024);
            foreach (var b in blobs) writer.Add(FuzzKeys.Shared.Own.BlobId(b), b);
            using var pack = writer.Finish();
            yield return pack.Bytes.ToArray();
        }
    }
}

/// <summary>An index file as stored: header and signer, trust, the sealed envelope under its domain's key, then the codec.</summary>
public sealed class IndexFileTarget : IFuzzTarget
{
    public string Name => "index-file";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            var header = IndexFile.ReadHeader(data, "index/fuzz");
            var signer = FuzzKeys.Trust.Evaluate(header.Signer, header.Certificate, header.SignatureValid, header.Domain, DateTimeOffset.UnixEpoch);
            if (signer.IsTrusted) IndexFile.Open(data, FuzzKeys.Shared.For(header.Domain), signer.Trust, "index/fuzz", _ => { });
        }
        catch (CorruptObjectException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds() =>
        SeedData.IndexPacks().Select(p => IndexFile.Seal(p, FuzzKeys.Shared.Own, FuzzKeys.Shared))
            .Concat(SeedData.IndexPacks().Select(p => IndexFile.Seal(p.Select(x => x with { Origin = Dedup.Format.PackOrigin.Writer }).ToArray(), FuzzKeys.SharedWriter.Own, FuzzKeys.SharedWriter)));
}

/// <summary>A prune mark: signature, then the pack list.</summary>
public sealed class MarkTarget : IFuzzTarget
{
    public string Name => "mark";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            Dedup.Repository.Maintenance.PruneMark.Open(data, ObjectId.Empty, DateTimeOffset.UnixEpoch, FuzzKeys.SigningPublicKey, "marks/fuzz");
        }
        catch (CorruptObjectException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds()
    {
        var time = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        yield return Dedup.Repository.Maintenance.PruneMark.Seal(time, [], FuzzKeys.Shared);
        yield return Dedup.Repository.Maintenance.PruneMark.Seal(time, SeedData.IndexPacks().SelectMany(p => p).Select(p => p.PackId).Take(5).ToArray(), FuzzKeys.Shared);
    }
}

/// <summary>A backup marker: signer block, trust, key unwrap, plaintext.</summary>
public sealed class MarkerTarget : IFuzzTarget
{
    public string Name => "marker";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            Dedup.Repository.Maintenance.BackupMarker.Open(data, ObjectId.Empty, DateTimeOffset.UnixEpoch, FuzzKeys.Shared, FuzzKeys.Trust, "inflight/fuzz");
        }
        catch (CorruptObjectException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds()
    {
        var time = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        yield return Dedup.Repository.Maintenance.BackupMarker.Seal(time, "host", FuzzKeys.Shared);
        yield return Dedup.Repository.Maintenance.BackupMarker.Seal(time, "fuzz-writer", FuzzKeys.SharedWriter);
    }
}

/// <summary>A snapshot object: envelope parse, signature and certificate checks, key unwrap, payload and JSON.</summary>
public sealed class SnapshotTarget : IFuzzTarget
{
    public string Name => "snapshot";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            SnapshotEnvelope.Open(data, ObjectId.Empty, "snapshots/fuzz", FuzzKeys.Shared, FuzzKeys.Trust, DateTimeOffset.UnixEpoch);
        }
        catch (CorruptObjectException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds() =>
        SeedData.Snapshots().Select(s => SnapshotEnvelope.Seal(s, FuzzKeys.Shared.Own.Id, FuzzKeys.Shared))
            .Concat(SeedData.Snapshots().Select(s => SnapshotEnvelope.Seal(s with { Host = "fuzz-writer" }, FuzzKeys.SharedWriter.Own.Id, FuzzKeys.SharedWriter)));
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
        catch (Exception e) when (e is CorruptObjectException or UnsupportedFormatException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds()
    {
        yield return FuzzKeys.ConfigBytes;
        yield return System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(FuzzKeys.Config);
    }
}

/// <summary>A tombstone: signature, then the buried entries.</summary>
public sealed class TombstoneTarget : IFuzzTarget
{
    public string Name => "tombstone";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            Dedup.Repository.Maintenance.Tombstone.Open(data, ObjectId.Empty, FuzzKeys.SigningPublicKey, "tombstones/fuzz");
        }
        catch (CorruptObjectException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds()
    {
        var time = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        yield return Dedup.Repository.Maintenance.Tombstone.Seal(time, [], FuzzKeys.Shared);
        yield return Dedup.Repository.Maintenance.Tombstone.Seal(time,
            [(Dedup.Repository.Maintenance.TombstoneKind.Snapshot, ObjectId.HashOf([1])), (Dedup.Repository.Maintenance.TombstoneKind.KeyFile, ObjectId.HashOf([2]))], FuzzKeys.Shared);
    }
}
