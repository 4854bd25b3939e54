using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Repository.Maintenance;

/// <summary>
/// A prune mark (marks/&lt;sha256&gt;): the packs a prune plans to delete once the grace period has passed.
/// Plaintext: version (1) = 1 | mark time (i64 LE, Unix ms, the admin's clock) | count (varint) | pack IDs (32 each),
/// in a <see cref="SealedEnvelope"/> ("DDMK", "dedup.mark.v1"), followed by the repository signing key's
/// ECDSA signature (64) over every preceding byte. Only full keys can sign, so a write-only host cannot forge one;
/// clients and prune ignore marks whose signature fails.
/// </summary>
public sealed record PruneMark(ObjectId Id, DateTimeOffset MarkedAt, DateTimeOffset StoredAt, IReadOnlyList<ObjectId> Packs)
{
    public const string Prefix = "marks/";
    private static ReadOnlySpan<byte> Magic => "DDMK"u8;
    private static ReadOnlySpan<byte> Info => "dedup.mark.v1"u8;

    public static byte[] Seal(DateTimeOffset markedAt, IReadOnlyCollection<ObjectId> packs, RepositoryKeys keys)
    {
        if (keys.ReadKey is null) throw new MissingCapabilityException("mark packs for deletion");
        using var w = new PooledBufferWriter();
        w.WriteByte(1);
        w.WriteInt64(markedAt.ToUnixTimeMilliseconds());
        w.WriteVarUInt((ulong)packs.Count);
        foreach (var p in packs) w.WriteId(p);
        var bytes = SealedEnvelope.Seal(Magic, Info, w.WrittenSpan, keys.IndexKey.Span, SigningKey.SignatureSize);
        int signedLength = bytes.Length - SigningKey.SignatureSize;
        keys.SigningKey.Sign(bytes.AsSpan(0, signedLength), bytes.AsSpan(signedLength));
        return bytes;
    }

    public static PruneMark Open(ReadOnlySpan<byte> stored, ObjectId id, DateTimeOffset storedAt, RepositoryKeys keys, byte[] repositorySigningKey, string name)
    {
        if (stored.Length < SigningKey.SignatureSize) throw new CorruptObjectException(name, "truncated");
        var signed = stored[..^SigningKey.SignatureSize];
        if (!SigningKey.Verify(repositorySigningKey, signed, stored[^SigningKey.SignatureSize..]))
            throw new CorruptObjectException(name, "its signature is not the repository's (forged or damaged)");
        var plain = SealedEnvelope.Open(signed, Magic, Info, keys.IndexKey.Span, name, "a prune mark");
        var r = new SpanReader(plain, name);
        if (r.ReadByte() != 1) throw r.Corrupt("unknown mark version");
        long ms = r.ReadInt64();
        if (ms < 0 || ms > 253402300799999) throw r.Corrupt("mark time out of range");
        int count = r.ReadLength(r.Remaining / ObjectId.Size, "pack count");
        var packs = new ObjectId[count];
        for (int i = 0; i < count; i++) packs[i] = r.ReadId();
        r.ExpectEnd();
        return new PruneMark(id, DateTimeOffset.FromUnixTimeMilliseconds(ms), storedAt, packs);
    }
}
