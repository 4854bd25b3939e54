using System.Text;
using Dedup.Crypto;

namespace Dedup.Repository.Keys;

/// <summary>
/// The repository signing key's statement that a write-only key may write snapshots for one host:
/// host length (1) | host (UTF-8, at most 255 bytes) | ECDSA signature (64) over
/// "dedup.writer-cert.v1" || writer public key (65) || host length || host.
/// Binding the host means a compromised write-only host cannot write snapshots that claim to be another host's.
/// </summary>
public static class WriterCertificate
{
    private static ReadOnlySpan<byte> Label => "dedup.writer-cert.v1"u8;

    public static byte[] Issue(SigningKey repositoryKey, ReadOnlySpan<byte> writerPublicKey, string host)
    {
        var hostBytes = Encoding.UTF8.GetBytes(host);
        if (hostBytes.Length is 0 or > 255) throw new ArgumentException("A write-only key's host name must be 1 to 255 bytes.");
        var cert = new byte[1 + hostBytes.Length + SigningKey.SignatureSize];
        cert[0] = (byte)hostBytes.Length;
        hostBytes.CopyTo(cert, 1);
        repositoryKey.Sign(Message(writerPublicKey, cert.AsSpan(0, 1 + hostBytes.Length)), cert.AsSpan(1 + hostBytes.Length));
        return cert;
    }

    /// <summary>The certified host when the certificate is valid for this writer key, else null.</summary>
    public static string? Verify(ReadOnlySpan<byte> writerPublicKey, ReadOnlySpan<byte> certificate, ReadOnlySpan<byte> repositorySigningKey)
    {
        if (certificate.Length < 2 + SigningKey.SignatureSize) return null;
        int hostLength = certificate[0];
        if (certificate.Length != 1 + hostLength + SigningKey.SignatureSize || hostLength == 0) return null;
        var hostPart = certificate[..(1 + hostLength)];
        if (!SigningKey.Verify(repositorySigningKey, Message(writerPublicKey, hostPart), certificate[(1 + hostLength)..])) return null;
        try
        {
            return new UTF8Encoding(false, true).GetString(hostPart[1..]);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private static byte[] Message(ReadOnlySpan<byte> writerPublicKey, ReadOnlySpan<byte> hostPart)
    {
        var msg = new byte[Label.Length + writerPublicKey.Length + hostPart.Length];
        Label.CopyTo(msg);
        writerPublicKey.CopyTo(msg.AsSpan(Label.Length));
        hostPart.CopyTo(msg.AsSpan(Label.Length + writerPublicKey.Length));
        return msg;
    }
}
