using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Repository.Maintenance;

/// <summary>
/// A prune mark (marks/&lt;sha256&gt;): the packs a prune plans to delete once the grace period has passed.
/// Layout: "DDMK" | version (1) = 2 | mark time (i64 LE, Unix ms, the admin's clock) | count (varint) | pack IDs (32 each)
/// | ECDSA signature (64) by the repository signing key over every preceding byte. Not encrypted: it names only packs,
/// whose names anyone who can list the store sees anyway, and every writer must be able to read it (a blob found only in
/// marked packs is stored again). Only full keys can sign, so no writer can forge one; readers ignore marks whose
/// signature fails.
/// </summary>
public sealed record PruneMark(ObjectId Id, DateTimeOffset MarkedAt, DateTimeOffset StoredAt, IReadOnlyList<ObjectId> Packs)
{
    public const string Prefix = "marks/";
    private static ReadOnlySpan<byte> Magic => "DDMK"u8;
    private const byte Version = 2;

    public static byte[] Seal(DateTimeOffset markedAt, IReadOnlyCollection<ObjectId> packs, RepositoryKeys keys)
    {
        if (keys.Kind != KeyKind.Full) throw new MissingCapabilityException("mark packs for deletion");
        using var w = new PooledBufferWriter(16 + packs.Count * ObjectId.Size + SigningKey.SignatureSize);
        w.Write(Magic);
        w.WriteByte(Version);
        w.WriteInt64(markedAt.ToUnixTimeMilliseconds());
        w.WriteVarUInt((ulong)packs.Count);
        foreach (var p in packs) w.WriteId(p);
        Trust.SignerBlock.AppendSignature(w, keys.SigningKey);
        return w.ToArray();
    }

    public static PruneMark Open(ReadOnlySpan<byte> stored, ObjectId id, DateTimeOffset storedAt, byte[] repositorySigningKey, string name)
    {
        if (stored.Length < 5 + SigningKey.SignatureSize) throw new CorruptObjectException(name, "truncated");
        var signed = stored[..^SigningKey.SignatureSize];
        if (!SigningKey.Verify(repositorySigningKey, signed, stored[^SigningKey.SignatureSize..]))
            throw new CorruptObjectException(name, "its signature is not the repository's (forged or damaged)");
        var r = new SpanReader(signed, name);
        if (!r.ReadBytes(4).SequenceEqual(Magic)) throw r.Corrupt("not a prune mark (bad magic)");
        if (r.ReadByte() != Version) throw r.Corrupt("unknown mark version");
        long ms = r.ReadInt64();
        if (ms < 0 || ms > 253402300799999) throw r.Corrupt("mark time out of range");
        int count = r.ReadLength(r.Remaining / ObjectId.Size, "pack count");
        var packs = new ObjectId[count];
        for (int i = 0; i < count; i++) packs[i] = r.ReadId();
        r.ExpectEnd();
        return new PruneMark(id, DateTimeOffset.FromUnixTimeMilliseconds(ms), storedAt, packs);
    }
}
