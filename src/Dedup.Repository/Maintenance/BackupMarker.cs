using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Repository.Maintenance;

/// <summary>
/// A backup-in-progress marker (inflight/&lt;sha256&gt;), written create-only when a backup starts, before it
/// reads the index. Its snapshot names it in "session", which is how prune knows the backup finished.
/// Clients never delete markers; prune removes finished and stale ones.
/// Plaintext: version (1) = 1 | start time (i64 LE, Unix ms) | host (string) | random nonce (16),
/// in a <see cref="SealedEnvelope"/> ("DDIF", "dedup.inflight.v1") so that write-only keys can write it.
/// </summary>
public sealed record BackupMarker(ObjectId Id, DateTimeOffset StartedAt, DateTimeOffset StoredAt, string Host)
{
    public const string Prefix = "inflight/";
    private static ReadOnlySpan<byte> Magic => "DDIF"u8;
    private static ReadOnlySpan<byte> Info => "dedup.inflight.v1"u8;

    public static byte[] Seal(DateTimeOffset startedAt, string host, RepositoryKeys keys)
    {
        using var w = new PooledBufferWriter();
        w.WriteByte(1);
        w.WriteInt64(startedAt.ToUnixTimeMilliseconds());
        w.WriteString(host);
        w.Write(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        return SealedEnvelope.Seal(Magic, Info, w.WrittenSpan, keys.IndexKey.Span);
    }

    public static BackupMarker Open(ReadOnlySpan<byte> stored, ObjectId id, DateTimeOffset storedAt, RepositoryKeys keys, string name)
    {
        var plain = SealedEnvelope.Open(stored, Magic, Info, keys.IndexKey.Span, name, "a backup marker");
        var r = new SpanReader(plain, name);
        if (r.ReadByte() != 1) throw r.Corrupt("unknown marker version");
        long ms = r.ReadInt64();
        if (ms < 0 || ms > 253402300799999) throw r.Corrupt("start time out of range");
        var host = r.ReadString(1024, "host");
        r.ReadBytes(16);
        r.ExpectEnd();
        return new BackupMarker(id, DateTimeOffset.FromUnixTimeMilliseconds(ms), storedAt, host);
    }
}
