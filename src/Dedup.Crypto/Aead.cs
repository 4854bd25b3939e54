using System.Security.Cryptography;

namespace Dedup.Crypto;

/// <summary>
/// AES-256-GCM with a 12-byte nonce and a 16-byte tag appended to the ciphertext.
/// Callers are responsible for nonce uniqueness per key; spec/repository-format.md, "Nonces", says how each use keeps it.
/// </summary>
public static class Aead
{
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;

    public static void Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext,
        ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        using var gcm = new AesGcm(key, TagSize);
        Seal(gcm, nonce, plaintext, associatedData, destination);
    }

    public static void Seal(AesGcm gcm, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext,
        ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        if (destination.Length < plaintext.Length + TagSize) throw new ArgumentException("Destination too small.", nameof(destination));
        gcm.Encrypt(nonce, plaintext, destination[..plaintext.Length], destination.Slice(plaintext.Length, TagSize), associatedData);
    }

    /// <summary>Decrypts and authenticates. Returns false (and clears <paramref name="destination"/>) when authentication fails.</summary>
    public static bool TryOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sealedData,
        ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        using var gcm = new AesGcm(key, TagSize);
        return TryOpen(gcm, nonce, sealedData, associatedData, destination);
    }

    public static bool TryOpen(AesGcm gcm, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sealedData,
        ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        if (sealedData.Length < TagSize) return false;
        int n = sealedData.Length - TagSize;
        if (destination.Length < n) throw new ArgumentException("Destination too small.", nameof(destination));
        try
        {
            gcm.Decrypt(nonce, sealedData[..n], sealedData[n..], destination[..n], associatedData);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            destination[..n].Clear();
            return false;
        }
    }

    /// <summary>A subkey for one object: HKDF-SHA256(key, salt, info). Lets a long-lived key seal many objects with a fixed nonce.</summary>
    public static SecretBytes DeriveSubkey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info)
    {
        var sub = new SecretBytes(KeySize);
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key, sub.WritableSpan, salt, info);
        return sub;
    }
}
