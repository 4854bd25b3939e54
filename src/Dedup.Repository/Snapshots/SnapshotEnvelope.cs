using System.Buffers.Binary;
using System.Text.Json;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Repository.Snapshots;

public enum SnapshotTrust
{
    /// <summary>Signed by the repository's own signing key (a full key wrote it).</summary>
    Repository,
    /// <summary>Signed by a write-only key whose certificate the repository signing key made.</summary>
    CertifiedWriter,
    /// <summary>Bad signature, or a signer the repository never certified: check flags it, forget ignores it.</summary>
    Untrusted,
}

/// <summary>
/// What anyone with read access to the store can see of a snapshot without decrypting it. For a write-only
/// writer, <see cref="CertifiedHost"/> is the host its certificate names.
/// </summary>
public sealed record SnapshotHeader(ObjectId Id, DateTimeOffset ClaimedTime, byte[] SignerPublicKey, SnapshotTrust Trust, string? CertifiedHost = null);

/// <summary>
/// A snapshot object (spec "Snapshots"):
/// <code>
/// "DDSN" | version (1) = 1 | claimed time (i64 LE, Unix ms) | signer public key (65) | certificate length (u16 LE) | certificate
///        | wrapped data key (113) | sealed payload length (u32 LE) | sealed payload | ECDSA P-256 signature (64) over everything before it
/// </code>
/// The payload is the <see cref="SnapshotInfo"/> JSON sealed under a fresh data key with a zero nonce, AAD = every byte before it.
/// </summary>
public static class SnapshotEnvelope
{
    private static ReadOnlySpan<byte> Magic => "DDSN"u8;

    public static byte[] Seal(SnapshotInfo info, RepositoryKeys keys)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(info, JsonOptions.Compact.SnapshotInfo);
        using var dataKey = SecretBytes.Random(Aead.KeySize);
        using var w = new PooledBufferWriter(json.Length + 512);
        w.Write(Magic);
        w.WriteByte(1);
        w.WriteInt64(info.Time.ToUnixTimeMilliseconds());
        w.Write(keys.SigningKey.PublicKey);
        var cert = keys.Certificate;
        BinaryPrimitives.WriteUInt16LittleEndian(w.GetSpan(2), (ushort)cert.Length);
        w.Advance(2);
        w.Write(cert);
        KeyWrap.Wrap(dataKey.Span, keys.ReadPublicKey, w.GetSpan(KeyWrap.WrappedSize));
        w.Advance(KeyWrap.WrappedSize);
        w.WriteUInt32((uint)(json.Length + Aead.TagSize));
        int headerLength = w.WrittenCount;
        var sealedPayload = w.GetSpan(json.Length + Aead.TagSize);
        Aead.Seal(dataKey.Span, stackalloc byte[Aead.NonceSize], json, w.WrittenSpan[..headerLength], sealedPayload);
        w.Advance(json.Length + Aead.TagSize);
        Span<byte> sig = stackalloc byte[SigningKey.SignatureSize];
        keys.SigningKey.Sign(w.WrittenSpan, sig);
        w.Write(sig);
        return w.ToArray();
    }

    private ref struct Parsed
    {
        public DateTimeOffset Time;
        public ReadOnlySpan<byte> Signer, Certificate, Wrapped, Header, SealedPayload, Signed, Signature;
    }

    private static Parsed Parse(ReadOnlySpan<byte> stored, string name)
    {
        var r = new SpanReader(stored, name);
        if (!r.ReadBytes(4).SequenceEqual(Magic)) throw r.Corrupt("not a snapshot (bad magic)");
        if (r.ReadByte() != 1) throw r.Corrupt("unknown snapshot version");
        var p = new Parsed();
        long ms = r.ReadInt64();
        if (ms < -62135596800000 || ms > 253402300799999) throw r.Corrupt("claimed time out of range");
        p.Time = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        p.Signer = r.ReadBytes(65);
        int certLength = BinaryPrimitives.ReadUInt16LittleEndian(r.ReadBytes(2));
        p.Certificate = r.ReadBytes(certLength);
        p.Wrapped = r.ReadBytes(KeyWrap.WrappedSize);
        int sealedLength = (int)Math.Min(r.ReadUInt32(), int.MaxValue);
        p.Header = stored[..r.Position];
        if (sealedLength < Aead.TagSize) throw r.Corrupt("sealed payload shorter than a tag");
        p.SealedPayload = r.ReadBytes(sealedLength);
        p.Signed = stored[..r.Position];
        p.Signature = r.ReadBytes(SigningKey.SignatureSize);
        r.ExpectEnd();
        return p;
    }

    /// <summary>Reads and verifies the plaintext part only: what a write-only key can learn about a snapshot.</summary>
    public static SnapshotHeader ReadHeader(ReadOnlySpan<byte> stored, ObjectId id, string name, byte[] repositorySigningKey)
    {
        var p = Parse(stored, name);
        return Header(p, id, repositorySigningKey);
    }

    private static SnapshotHeader Header(in Parsed p, ObjectId id, byte[] repositorySigningKey)
    {
        var signer = p.Signer.ToArray();
        if (!SigningKey.Verify(p.Signer, p.Signed, p.Signature)) return new SnapshotHeader(id, p.Time, signer, SnapshotTrust.Untrusted);
        if (p.Signer.SequenceEqual(repositorySigningKey)) return new SnapshotHeader(id, p.Time, signer, SnapshotTrust.Repository);
        var host = WriterCertificate.Verify(p.Signer, p.Certificate, repositorySigningKey);
        return new SnapshotHeader(id, p.Time, signer, host is null ? SnapshotTrust.Untrusted : SnapshotTrust.CertifiedWriter, host);
    }

    public static (SnapshotHeader Header, SnapshotInfo Info) Open(ReadOnlySpan<byte> stored, ObjectId id, string name, RepositoryKeys keys, byte[] repositorySigningKey)
    {
        var p = Parse(stored, name);
        var header = Header(p, id, repositorySigningKey);
        var readKey = keys.RequireReadKey("read snapshots");
        using var dataKey = new SecretBytes(Aead.KeySize);
        if (!KeyWrap.TryUnwrap(p.Wrapped, readKey, dataKey.WritableSpan)) throw new CorruptObjectException(name, "its data key does not unwrap (damaged, or written for another repository)");
        var json = new byte[p.SealedPayload.Length - Aead.TagSize];
        if (!Aead.TryOpen(dataKey.Span, stackalloc byte[Aead.NonceSize], p.SealedPayload, p.Header, json))
            throw new CorruptObjectException(name, "authentication failed (bytes were changed)");
        try
        {
            var info = JsonSerializer.Deserialize(json, JsonOptions.Strict.SnapshotInfo) ?? throw new CorruptObjectException(name, "empty snapshot");
            // JSON null slips past 'required' and non-nullable annotations; refuse it here rather than crash later.
            if (info.Paths is null || info.Tree is null || info.Tags is null || info.Host is null || info.Summary is null || info.Excludes is null)
                throw new CorruptObjectException(name, "a required field is null");
            if (info.Paths.Any(x => x is null) || info.Tags.Any(x => x is null) || info.Excludes.Any(x => x is null))
                throw new CorruptObjectException(name, "a list holds null");
            if (info.Tree.Any(t => !ObjectId.TryParse(t, out _))) throw new CorruptObjectException(name, "bad tree ID");
            if (info.Time.ToUnixTimeMilliseconds() != header.ClaimedTime.ToUnixTimeMilliseconds())
                throw new CorruptObjectException(name, "the time in its header differs from the time in its payload");
            // A writer may only write snapshots of the host its certificate names.
            if (header.Trust == SnapshotTrust.CertifiedWriter && info.Host != header.CertifiedHost) header = header with { Trust = SnapshotTrust.Untrusted };
            return (header, info);
        }
        catch (JsonException e)
        {
            throw new CorruptObjectException(name, "snapshot JSON is invalid", e);
        }
    }
}
