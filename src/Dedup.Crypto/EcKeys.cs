using System.Security.Cryptography;

namespace Dedup.Crypto;

/// <summary>
/// P-256 keys in the two encodings the format uses: a public key as the 65-byte uncompressed SEC1
/// point (0x04 || X || Y), a private key as the 32-byte big-endian scalar D.
/// </summary>
internal static class EcKeys
{
    public const int PublicKeySize = 65;
    public const int PrivateKeySize = 32;

    public static ECParameters PublicParameters(ReadOnlySpan<byte> point)
    {
        if (point.Length != PublicKeySize || point[0] != 0x04) throw new CryptographicException("Not an uncompressed P-256 point.");
        return new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point.Slice(1, 32).ToArray(), Y = point.Slice(33, 32).ToArray() },
        };
    }

    public static void WritePublic(in ECParameters p, Span<byte> destination)
    {
        destination[0] = 0x04;
        p.Q.X.AsSpan().CopyTo(destination.Slice(1, 32));
        p.Q.Y.AsSpan().CopyTo(destination.Slice(33, 32));
    }

    /// <summary>Imports a private scalar; the public point is recomputed so a mismatched pair cannot be smuggled in.</summary>
    public static ECParameters PrivateParameters(ReadOnlySpan<byte> d)
    {
        if (d.Length != PrivateKeySize) throw new CryptographicException("Not a P-256 private scalar.");
        return new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = d.ToArray() };
    }

    public static void Clear(ECParameters p)
    {
        if (p.D is not null) CryptographicOperations.ZeroMemory(p.D);
    }
}
