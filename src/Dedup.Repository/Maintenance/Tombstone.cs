using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;
using Dedup.Repository.Trust;

namespace Dedup.Repository.Maintenance;

/// <summary>What a tombstone buries.</summary>
public enum TombstoneKind : byte
{
    Snapshot = 0,
    KeyFile = 1,
}

/// <summary>
/// A tombstone (tombstones/&lt;sha256&gt;): the admin's signed record that it removed these snapshots and key files.
/// Object names are hashes of bytes that are never written twice, so a removed object that reappears under its old
/// name is a replay — a host that kept a copy (or a storage provider) uploading it again — and readers treat it as
/// gone: a replayed old snapshot is never anyone's "latest" and never counts for retention, and a replayed old key file
/// (with an old password) never opens.
/// Layout: "DDTS" | version (1) = 1 | time (i64 LE, Unix ms, the admin's clock) | count (varint) | per entry: kind (1)
/// and ID (32) | ECDSA signature (64) by the repository signing key over every preceding byte. Not encrypted: it names
/// only objects, whose names anyone who may list the store sees anyway.
/// </summary>
public sealed record Tombstone(ObjectId Id, DateTimeOffset BuriedAt, IReadOnlyList<(TombstoneKind Kind, ObjectId Object)> Entries)
{
    public const string Prefix = "tombstones/";
    public const int MaxSize = 64 * 1024 * 1024;
    private static ReadOnlySpan<byte> Magic => "DDTS"u8;
    private const byte Version = 1;

    public static byte[] Seal(DateTimeOffset buriedAt, IReadOnlyCollection<(TombstoneKind Kind, ObjectId Object)> entries, RepositoryKeys keys)
    {
        if (keys.Kind != KeyKind.Full) throw new MissingCapabilityException("remove snapshots or keys");
        using var w = new PooledBufferWriter(16 + entries.Count * (1 + ObjectId.Size) + SigningKey.SignatureSize);
        w.Write(Magic);
        w.WriteByte(Version);
        w.WriteInt64(buriedAt.ToUnixTimeMilliseconds());
        w.WriteVarUInt((ulong)entries.Count);
        foreach (var (kind, id) in entries)
        {
            w.WriteByte((byte)kind);
            w.WriteId(id);
        }
        SignerBlock.AppendSignature(w, keys.SigningKey);
        return w.ToArray();
    }

    public static Tombstone Open(ReadOnlySpan<byte> stored, ObjectId id, byte[] repositorySigningKey, string name)
    {
        if (stored.Length < 5 + SigningKey.SignatureSize) throw new CorruptObjectException(name, "truncated");
        var signed = stored[..^SigningKey.SignatureSize];
        if (!SigningKey.Verify(repositorySigningKey, signed, stored[^SigningKey.SignatureSize..]))
            throw new CorruptObjectException(name, "its signature is not the repository's (forged or damaged)");
        var r = new SpanReader(signed, name);
        if (!r.ReadBytes(4).SequenceEqual(Magic)) throw r.Corrupt("not a tombstone (bad magic)");
        if (r.ReadByte() != Version) throw r.Corrupt("unknown tombstone version");
        long ms = r.ReadInt64();
        if (ms < 0 || ms > 253402300799999) throw r.Corrupt("time out of range");
        int count = r.ReadLength(r.Remaining / (1 + ObjectId.Size), "entry count");
        var entries = new (TombstoneKind, ObjectId)[count];
        for (int i = 0; i < count; i++)
        {
            byte kind = r.ReadByte();
            if (kind > (byte)TombstoneKind.KeyFile) throw r.Corrupt($"unknown entry kind {kind}");
            entries[i] = ((TombstoneKind)kind, r.ReadId());
        }
        r.ExpectEnd();
        return new Tombstone(id, DateTimeOffset.FromUnixTimeMilliseconds(ms), entries);
    }
}

/// <summary>Every valid tombstone's entries, for quick lookups; see <see cref="Tombstone"/>.</summary>
public sealed class Graveyard
{
    public static Graveyard Empty { get; } = new([]);

    private readonly HashSet<(TombstoneKind, ObjectId)> _buried;

    public Graveyard(IReadOnlyList<Tombstone> tombstones)
    {
        Tombstones = tombstones;
        _buried = tombstones.SelectMany(t => t.Entries).ToHashSet();
    }

    public IReadOnlyList<Tombstone> Tombstones { get; }

    public bool IsBuried(TombstoneKind kind, ObjectId id) => _buried.Contains((kind, id));

    /// <summary>Reads every tombstone with a valid repository signature; forged, damaged or unreadable ones are ignored, and credentials that may not list them give an empty graveyard.</summary>
    public static async Task<Graveyard> LoadAsync(Dedup.Storage.IStorage storage, byte[] repositorySigningKey, CancellationToken ct)
    {
        var list = new List<Tombstone>();
        try
        {
            await foreach (var obj in storage.ListAsync(Tombstone.Prefix, ct).ConfigureAwait(false))
            {
                if (!Layout.TryParseId(obj.Name, out var id)) continue;
                try
                {
                    list.Add(Tombstone.Open(await StoredObjects.ReadListedAsync(storage, obj.Name, id, Tombstone.MaxSize, ct).ConfigureAwait(false),
                        id, repositorySigningKey, obj.Name));
                }
                catch (Exception e) when (e is CorruptObjectException or Dedup.Storage.ObjectNotFoundException)
                {
                }
            }
        }
        catch (Dedup.Storage.StorageAccessDeniedException)
        {
            // A host whose credentials may not list tombstones: it restores nothing anyway. (A tombstone that cannot be
            // read is skipped alone, above: a planted unreadable one must not empty the graveyard.)
        }
        return new Graveyard(list);
    }
}
