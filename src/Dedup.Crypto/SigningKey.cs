using System.Numerics;
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

    /// <summary>Signs, normalising s to the lower half of the group order so that every message has one valid signature.</summary>
    public void Sign(ReadOnlySpan<byte> data, Span<byte> signature)
    {
        if (!_ecdsa.TrySignData(data, signature, HashAlgorithmName.SHA256, out int n) || n != SignatureSize)
            throw new CryptographicException("Signing failed.");
        var s = new BigInteger(signature[32..], isUnsigned: true, isBigEndian: true);
        if (s > HalfOrder)
        {
            signature[32..].Clear();
            (Order - s).TryWriteBytes(signature[32..], out int written, isUnsigned: true, isBigEndian: true);
            // TryWriteBytes writes the minimal big-endian form at the start; right-align it into the 32-byte field.
            if (written < 32)
            {
                var tmp = signature.Slice(32, written).ToArray();
                signature[32..].Clear();
                tmp.CopyTo(signature[(64 - written)..]);
            }
        }
    }

    /// <summary>The order n of the P-256 group, and n/2: signatures with s above n/2 are refused (no malleable copies).</summary>
    private static readonly BigInteger Order = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber);
    private static readonly BigInteger HalfOrder = Order / 2;

    /// <summary>Checks a signature against a 65-byte public key. Malformed keys or signatures are simply invalid.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureSize || new BigInteger(signature[32..], isUnsigned: true, isBigEndian: true) > HalfOrder) return false;
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
