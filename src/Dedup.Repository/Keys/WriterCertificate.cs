using System.Text;
using Dedup.Crypto;
using Dedup.Format;

namespace Dedup.Repository.Keys;

/// <summary>What a valid certificate says: the host a writer may write snapshots of, and the dedup domain it writes into.</summary>
public sealed record CertifiedWriter(string Host, DomainId Domain);

/// <summary>
/// The repository signing key's statement that a write-only key may write for one host, in one dedup domain:
/// host length (1) | host (UTF-8, 1..255 bytes) | domain ID (16) | ECDSA signature (64) over
/// "dedup.writer-cert.v2" ‖ writer public key (65) ‖ host length ‖ host ‖ domain ID.
/// Binding the host means a compromised host cannot write snapshots that claim to be another host's; binding the
/// domain means it cannot write index files or snapshots that other domains' readers would accept.
/// </summary>
public static class WriterCertificate
{
    private static ReadOnlySpan<byte> Label => "dedup.writer-cert.v2"u8;
    public const int MaxSize = 1 + 255 + DomainId.Size + SigningKey.SignatureSize;

    public static byte[] Issue(SigningKey repositoryKey, ReadOnlySpan<byte> writerPublicKey, string host, DomainId domain)
    {
        var hostBytes = Encoding.UTF8.GetBytes(host);
        if (hostBytes.Length is 0 or > 255) throw new ArgumentException("A write-only key's host name must be 1 to 255 bytes.");
        int signedLength = 1 + hostBytes.Length + DomainId.Size;
        var cert = new byte[signedLength + SigningKey.SignatureSize];
        cert[0] = (byte)hostBytes.Length;
        hostBytes.CopyTo(cert, 1);
        domain.WriteTo(cert.AsSpan(1 + hostBytes.Length));
        repositoryKey.Sign(Message(writerPublicKey, cert.AsSpan(0, signedLength)), cert.AsSpan(signedLength));
        return cert;
    }

    /// <summary>The certified host and domain when the certificate is valid for this writer key, else null.</summary>
    public static CertifiedWriter? Verify(ReadOnlySpan<byte> writerPublicKey, ReadOnlySpan<byte> certificate, ReadOnlySpan<byte> repositorySigningKey)
    {
        if (certificate.Length < 2 + DomainId.Size + SigningKey.SignatureSize) return null;
        int hostLength = certificate[0];
        int signedLength = 1 + hostLength + DomainId.Size;
        if (hostLength == 0 || certificate.Length != signedLength + SigningKey.SignatureSize) return null;
        var signed = certificate[..signedLength];
        if (!SigningKey.Verify(repositorySigningKey, Message(writerPublicKey, signed), certificate[signedLength..])) return null;
        var domain = new DomainId(signed[(1 + hostLength)..]);
        if (domain.IsRepository) return null;
        try
        {
            return new CertifiedWriter(new UTF8Encoding(false, true).GetString(signed.Slice(1, hostLength)), domain);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private static byte[] Message(ReadOnlySpan<byte> writerPublicKey, ReadOnlySpan<byte> signed)
    {
        var msg = new byte[Label.Length + writerPublicKey.Length + signed.Length];
        Label.CopyTo(msg);
        writerPublicKey.CopyTo(msg.AsSpan(Label.Length));
        signed.CopyTo(msg.AsSpan(Label.Length + writerPublicKey.Length));
        return msg;
    }
}
