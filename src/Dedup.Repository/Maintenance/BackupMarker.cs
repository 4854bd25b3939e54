using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;
using Dedup.Repository.Trust;

namespace Dedup.Repository.Maintenance;

/// <summary>
/// A backup-in-progress marker (inflight/&lt;sha256&gt;), written create-only when a backup starts, before it reads the
/// index. Its snapshot names it in "session", which is how prune knows the backup finished. Clients never delete
/// markers; prune removes finished and stale ones.
/// Layout: "DDIF" | version (1) = 2 | signer block | wrapped data key (113) | AES-256-GCM(data key, nonce 0, plaintext,
/// AAD = every byte before it) | ECDSA signature (64) by the signer over every byte before it. The data key is fresh and
/// wrapped to the read key, like a snapshot's: any writer can announce a backup, but only full keys learn which host
/// started it and when. The signature lets prune ignore markers of unknown or revoked writers (which could otherwise
/// hold back deletion for the max backup age). Plaintext: version (1) = 1 | start time (i64 LE, Unix ms) | host (varint
/// length + UTF-8) | 16 random bytes.
/// </summary>
public sealed record BackupMarker(ObjectId Id, DateTimeOffset StartedAt, DateTimeOffset StoredAt, string Host, Signer Signer)
{
    public const string Prefix = "inflight/";
    /// <summary>The largest marker a reader accepts (spec "Reader limits").</summary>
    public const int MaxSize = 64 * 1024;
    private static ReadOnlySpan<byte> Magic => "DDIF"u8;
    private const byte Version = 2;

    public static byte[] Seal(DateTimeOffset startedAt, string host, RepositoryKeys keys)
    {
        using var plain = new PooledBufferWriter();
        plain.WriteByte(1);
        plain.WriteInt64(startedAt.ToUnixTimeMilliseconds());
        plain.WriteString(host);
        plain.Write(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        using var dataKey = SecretBytes.Random(Aead.KeySize);
        using var w = new PooledBufferWriter(512);
        w.Write(Magic);
        w.WriteByte(Version);
        SignerBlock.Write(w, keys);
        KeyWrap.Wrap(dataKey.Span, keys.ReadPublicKey, w.GetSpan(KeyWrap.WrappedSize));
        w.Advance(KeyWrap.WrappedSize);
        SignerBlock.AppendSealed(w, dataKey.Span, plain.WrittenSpan);
        SignerBlock.AppendSignature(w, keys.SigningKey);
        return w.ToArray();
    }

    public static BackupMarker Open(ReadOnlySpan<byte> stored, ObjectId id, DateTimeOffset storedAt, RepositoryKeys keys, TrustPolicy trust, string name)
    {
        var r = new SpanReader(stored, name);
        if (!r.ReadBytes(4).SequenceEqual(Magic)) throw r.Corrupt("not a backup marker (bad magic)");
        if (r.ReadByte() != Version) throw r.Corrupt("unknown marker version");
        var (signerKey, certificate) = SignerBlock.Read(ref r);
        var wrapped = r.ReadBytes(KeyWrap.WrappedSize);
        var header = stored[..r.Position];
        if (r.Remaining < Aead.TagSize + SigningKey.SignatureSize) throw r.Corrupt("truncated");
        var sealedPart = r.ReadBytes(r.Remaining - SigningKey.SignatureSize);
        var signed = stored[..r.Position];
        var signer = trust.Evaluate(signerKey, certificate, SigningKey.Verify(signerKey, signed, r.ReadBytes(SigningKey.SignatureSize)), null, storedAt);
        var readKey = keys.RequireReadKey("read backup markers");
        using var dataKey = new SecretBytes(Aead.KeySize);
        if (!KeyWrap.TryUnwrap(wrapped, readKey, dataKey.WritableSpan)) throw new CorruptObjectException(name, "its data key does not unwrap");
        var plain = new byte[sealedPart.Length - Aead.TagSize];
        if (!Aead.TryOpen(dataKey.Span, stackalloc byte[Aead.NonceSize], sealedPart, header, plain))
            throw new CorruptObjectException(name, "authentication failed");
        var p = new SpanReader(plain, name);
        if (p.ReadByte() != 1) throw p.Corrupt("unknown marker version");
        long ms = p.ReadInt64();
        if (ms < 0 || ms > 253402300799999) throw p.Corrupt("start time out of range");
        var host = p.ReadString(1024, "host");
        p.ReadBytes(16);
        p.ExpectEnd();
        // A writer announces only its own backups: a marker naming another host counts for nothing.
        if (signer.Trust == SignerTrust.CertifiedWriter && signer.Writer!.Host != host)
            signer = signer with { Trust = SignerTrust.Untrusted, Problem = $"writer '{signer.Writer.Host}' announced a backup of host '{host}'" };
        return new BackupMarker(id, DateTimeOffset.FromUnixTimeMilliseconds(ms), storedAt, host, signer);
    }
}
