using System.Buffers.Binary;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Repository.Maintenance;

/// <summary>
/// A backup-in-progress marker (inflight/&lt;sha256&gt;), written create-only when a backup starts, before it
/// reads the index. Its snapshot names it in "session", which is how prune knows the backup finished.
/// Clients never delete markers; prune removes finished and stale ones.
/// Layout: "DDIF" | version (1) = 1 | wrapped data key (113) | AES-256-GCM(data key, nonce 0, plaintext, AAD = the
/// 118 bytes before it). The data key is fresh and wrapped to the read key, like a snapshot's: any writer can announce
/// a backup, but only full keys learn which host started it and when. Plaintext: version (1) = 1 | start time (i64 LE,
/// Unix ms) | host (varint length + UTF-8) | 16 random bytes.
/// </summary>
public sealed record BackupMarker(ObjectId Id, DateTimeOffset StartedAt, DateTimeOffset StoredAt, string Host)
{
    public const string Prefix = "inflight/";
    private static ReadOnlySpan<byte> Magic => "DDIF"u8;
    private const int HeaderSize = 4 + 1 + KeyWrap.WrappedSize;

    public static byte[] Seal(DateTimeOffset startedAt, string host, RepositoryKeys keys)
    {
        using var plain = new PooledBufferWriter();
        plain.WriteByte(1);
        plain.WriteInt64(startedAt.ToUnixTimeMilliseconds());
        plain.WriteString(host);
        plain.Write(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        using var dataKey = SecretBytes.Random(Aead.KeySize);
        var result = new byte[HeaderSize + plain.WrittenCount + Aead.TagSize];
        Magic.CopyTo(result);
        result[4] = 1;
        KeyWrap.Wrap(dataKey.Span, keys.ReadPublicKey, result.AsSpan(5, KeyWrap.WrappedSize));
        Aead.Seal(dataKey.Span, stackalloc byte[Aead.NonceSize], plain.WrittenSpan, result.AsSpan(0, HeaderSize), result.AsSpan(HeaderSize));
        return result;
    }

    public static BackupMarker Open(ReadOnlySpan<byte> stored, ObjectId id, DateTimeOffset storedAt, RepositoryKeys keys, string name)
    {
        if (stored.Length < HeaderSize + Aead.TagSize || !stored[..4].SequenceEqual(Magic) || stored[4] != 1)
            throw new CorruptObjectException(name, "not a backup marker");
        var readKey = keys.RequireReadKey("read backup markers");
        using var dataKey = new SecretBytes(Aead.KeySize);
        if (!KeyWrap.TryUnwrap(stored.Slice(5, KeyWrap.WrappedSize), readKey, dataKey.WritableSpan))
            throw new CorruptObjectException(name, "its data key does not unwrap");
        var plain = new byte[stored.Length - HeaderSize - Aead.TagSize];
        if (!Aead.TryOpen(dataKey.Span, stackalloc byte[Aead.NonceSize], stored[HeaderSize..], stored[..HeaderSize], plain))
            throw new CorruptObjectException(name, "authentication failed");
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
