using System.Text.Json;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;
using Dedup.Repository.Trust;

namespace Dedup.Repository.Snapshots;

/// <summary>
/// What anyone with read access to the store can see of a snapshot without decrypting it: its claimed time, the dedup
/// domain its trees live in, and its signer with the trust the repository gives it.
/// </summary>
public sealed record SnapshotHeader(ObjectId Id, DateTimeOffset ClaimedTime, DomainId Domain, Signer Signer)
{
    public SignerTrust Trust => Signer.Trust;
    public byte[] SignerPublicKey => Signer.PublicKey;
    /// <summary>For a certified writer, the host its certificate names.</summary>
    public string? CertifiedHost => Signer.Writer?.Host;
    public bool IsTrusted => Signer.IsTrusted;
}

/// <summary>
/// A snapshot object (spec "Snapshots"):
/// <code>
/// "DDSN" | version (1) = 2 | claimed time (i64 LE, Unix ms) | domain (16) | signer block (65 + 2 + c)
///        | wrapped data key (113) | sealed payload length (u32 LE) | sealed payload | ECDSA P-256 signature (64) over everything before it
/// </code>
/// The payload is the <see cref="SnapshotInfo"/> JSON sealed under a fresh data key with a zero nonce, AAD = every byte
/// before it. Its trees and files are blobs of the header's domain: a reader verifies every blob with that domain's key,
/// so a snapshot can only ever yield data of its own domain.
/// </summary>
public static class SnapshotEnvelope
{
    private static ReadOnlySpan<byte> Magic => "DDSN"u8;
    private const byte Version = 2;

    public static byte[] Seal(SnapshotInfo info, DomainId domain, RepositoryKeys keys)
    {
        if (keys.Kind == KeyKind.WriteOnly && domain != keys.Own.Id) throw new MissingCapabilityException("write snapshots of another dedup domain");
        var json = JsonSerializer.SerializeToUtf8Bytes(info, JsonOptions.Compact.SnapshotInfo);
        using var dataKey = SecretBytes.Random(Aead.KeySize);
        using var w = new PooledBufferWriter(json.Length + 512);
        w.Write(Magic);
        w.WriteByte(Version);
        w.WriteInt64(info.Time.ToUnixTimeMilliseconds());
        w.WriteDomain(domain);
        SignerBlock.Write(w, keys);
        KeyWrap.Wrap(dataKey.Span, keys.ReadPublicKey, w.GetSpan(KeyWrap.WrappedSize));
        w.Advance(KeyWrap.WrappedSize);
        w.WriteUInt32((uint)(json.Length + Aead.TagSize));
        SignerBlock.AppendSealed(w, dataKey.Span, json);
        SignerBlock.AppendSignature(w, keys.SigningKey);
        return w.ToArray();
    }

    private ref struct Parsed
    {
        public DateTimeOffset Time;
        public DomainId Domain;
        public byte[] Signer, Certificate;
        public ReadOnlySpan<byte> Wrapped, Header, SealedPayload, Signed, Signature;
    }

    private static Parsed Parse(ReadOnlySpan<byte> stored, string name)
    {
        var r = new SpanReader(stored, name);
        if (!r.ReadBytes(4).SequenceEqual(Magic)) throw r.Corrupt("not a snapshot (bad magic)");
        if (r.ReadByte() != Version) throw r.Corrupt("unknown snapshot version");
        var p = new Parsed();
        long ms = r.ReadInt64();
        if (ms < -62135596800000 || ms > 253402300799999) throw r.Corrupt("claimed time out of range");
        p.Time = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        p.Domain = r.ReadDomain();
        (p.Signer, p.Certificate) = SignerBlock.Read(ref r);
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
    public static SnapshotHeader ReadHeader(ReadOnlySpan<byte> stored, ObjectId id, string name, TrustPolicy trust, DateTimeOffset storedAt)
    {
        var p = Parse(stored, name);
        return Header(p, id, trust, storedAt);
    }

    private static SnapshotHeader Header(in Parsed p, ObjectId id, TrustPolicy trust, DateTimeOffset storedAt) =>
        new(id, p.Time, p.Domain, trust.Evaluate(p.Signer, p.Certificate, SigningKey.Verify(p.Signer, p.Signed, p.Signature), p.Domain, storedAt));

    public static (SnapshotHeader Header, SnapshotInfo Info) Open(ReadOnlySpan<byte> stored, ObjectId id, string name, RepositoryKeys keys, TrustPolicy trust,
        DateTimeOffset storedAt)
    {
        var p = Parse(stored, name);
        var header = Header(p, id, trust, storedAt);
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
            if (header.Trust == SignerTrust.CertifiedWriter && info.Host != header.CertifiedHost)
                header = header with { Signer = header.Signer with { Trust = SignerTrust.Untrusted, Problem = $"writer '{header.CertifiedHost}' wrote a snapshot claiming host '{info.Host}'" } };
            return (header, info);
        }
        catch (JsonException e)
        {
            throw new CorruptObjectException(name, "snapshot JSON is invalid", e);
        }
    }
}
