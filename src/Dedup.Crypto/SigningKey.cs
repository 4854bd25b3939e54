using System.Security.Cryptography;

namespace Dedup.Crypto;

/// <summary>
/// An ECDSA P-256 key that signs snapshots (and, for full keys, certifies write-only keys).
/// Signatures are the fixed 64-byte IEEE P1363 form over SHA-256.
/// </summary>
public sealed class SigningKey : IDisposable
{
    public const int SignatureSize = 64;
    private readonly ECDsa _ecdsa;

    private SigningKey(ECDsa ecdsa)
    {
        _ecdsa = ecdsa;
        PublicKey = new byte[EcKeys.PublicKeySize];
        EcKeys.WritePublic(ecdsa.ExportParameters(false), PublicKey);
    }

    public byte[] PublicKey { get; }

    public static SigningKey Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    public static SigningKey Import(ReadOnlySpan<byte> privateScalar)
    {
        var p = EcKeys.PrivateParameters(privateScalar);
        try
        {
            return new SigningKey(ECDsa.Create(p));
        }
        finally
        {
            EcKeys.Clear(p);
        }
    }

    public SecretBytes ExportPrivate()
    {
        var p = _ecdsa.ExportParameters(true);
        try
        {
            return new SecretBytes(p.D);
        }
        finally
        {
            EcKeys.Clear(p);
        }
    }

    public void Sign(ReadOnlySpan<byte> data, Span<byte> signature)
    {
        if (!_ecdsa.TrySignData(data, signature, HashAlgorithmName.SHA256, out int n) || n != SignatureSize)
            throw new CryptographicException("Signing failed.");
    }

    /// <summary>Checks a signature against a 65-byte public key. Malformed keys or signatures are simply invalid.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        try
        {
            using var ecdsa = ECDsa.Create(EcKeys.PublicParameters(publicKey));
            return ecdsa.VerifyData(data, signature, HashAlgorithmName.SHA256);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    public void Dispose() => _ecdsa.Dispose();
}
