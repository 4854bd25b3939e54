using System.Security.Cryptography;

namespace Dedup.Crypto;

/// <summary>
/// Seals a 32-byte data key to the repository's read public key (ECIES over P-256):
/// an ephemeral ECDH key pair, HKDF-SHA256 over the shared secret, and AES-256-GCM.
/// Writers (including write-only keys) can wrap; only holders of the read private key can unwrap.
/// Layout of the 113-byte result: ephemeral public point (65) || sealed data key (32) || tag (16).
/// </summary>
public static class KeyWrap
{
    public const int WrappedSize = EcKeys.PublicKeySize + Aead.KeySize + Aead.TagSize;
    private static ReadOnlySpan<byte> Info => "dedup.wrap.v1"u8;

    public static void Wrap(ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> recipientPublicKey, Span<byte> destination)
    {
        if (dataKey.Length != Aead.KeySize) throw new ArgumentException("A data key is 32 bytes.", nameof(dataKey));
        using var recipient = ECDiffieHellman.Create(EcKeys.PublicParameters(recipientPublicKey));
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var eph = ephemeral.ExportParameters(false);
        EcKeys.WritePublic(eph, destination);
        var shared = ephemeral.DeriveRawSecretAgreement(recipient.PublicKey);
        try
        {
            using var wrapKey = DeriveWrapKey(shared, destination[..EcKeys.PublicKeySize], recipientPublicKey);
            // The wrap key is fresh for every call (new ephemeral key), so a fixed zero nonce never repeats under a key.
            Aead.Seal(wrapKey.Span, stackalloc byte[Aead.NonceSize], dataKey, default, destination[EcKeys.PublicKeySize..WrappedSize]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    /// <summary>Recovers the data key, or returns false when the wrapped block is not authentic for this key.</summary>
    public static bool TryUnwrap(ReadOnlySpan<byte> wrapped, ReadKey readKey, Span<byte> dataKey)
    {
        if (wrapped.Length != WrappedSize) return false;
        var ephPoint = wrapped[..EcKeys.PublicKeySize];
        byte[] shared;
        try
        {
            using var eph = ECDiffieHellman.Create(EcKeys.PublicParameters(ephPoint));
            shared = readKey.Agree(eph.PublicKey);
        }
        catch (CryptographicException)
        {
            return false; // not a point on the curve: damaged or forged
        }
        try
        {
            using var wrapKey = DeriveWrapKey(shared, ephPoint, readKey.PublicKey);
            return Aead.TryOpen(wrapKey.Span, stackalloc byte[Aead.NonceSize], wrapped[EcKeys.PublicKeySize..], default, dataKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
        }
    }

    private static SecretBytes DeriveWrapKey(ReadOnlySpan<byte> shared, ReadOnlySpan<byte> ephemeralPublic, ReadOnlySpan<byte> recipientPublic)
    {
        Span<byte> salt = stackalloc byte[EcKeys.PublicKeySize * 2];
        ephemeralPublic.CopyTo(salt);
        recipientPublic.CopyTo(salt[EcKeys.PublicKeySize..]);
        return Aead.DeriveSubkey(shared, salt, Info);
    }
}

/// <summary>The repository's read key: the P-256 private key that unwraps data keys. Only full keys hold it.</summary>
public sealed class ReadKey : IDisposable
{
    private readonly ECDiffieHellman _ecdh;

    private ReadKey(ECDiffieHellman ecdh)
    {
        _ecdh = ecdh;
        var p = ecdh.ExportParameters(false);
        PublicKey = new byte[EcKeys.PublicKeySize];
        EcKeys.WritePublic(p, PublicKey);
    }

    /// <summary>The 65-byte public point, stored in the config.</summary>
    public byte[] PublicKey { get; }

    public static ReadKey Generate() => new(ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256));

    public static ReadKey Import(ReadOnlySpan<byte> privateScalar)
    {
        var p = EcKeys.PrivateParameters(privateScalar);
        try
        {
            return new ReadKey(ECDiffieHellman.Create(p));
        }
        finally
        {
            EcKeys.Clear(p);
        }
    }

    /// <summary>The private scalar, for storing inside an encrypted key file. The caller disposes it.</summary>
    public SecretBytes ExportPrivate()
    {
        var p = _ecdh.ExportParameters(true);
        try
        {
            return new SecretBytes(p.D);
        }
        finally
        {
            EcKeys.Clear(p);
        }
    }

    internal byte[] Agree(ECDiffieHellmanPublicKey other) => _ecdh.DeriveRawSecretAgreement(other);

    public void Dispose() => _ecdh.Dispose();
}
