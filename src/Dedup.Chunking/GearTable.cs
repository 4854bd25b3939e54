using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Dedup.Chunking;

/// <summary>
/// Derives the 256-entry gear table from the repository's chunker secret. A keyed table means
/// boundaries (and so chunk sizes visible in pack files) do not reveal content shared with other
/// repositories: an attacker cannot predict cut points for known data without the secret.
/// </summary>
internal static class GearTable
{
    public const int SecretLength = 32;

    private static ReadOnlySpan<byte> Label => "dedup.gear.v1"u8;

    public static ulong[] Derive(ReadOnlySpan<byte> secret)
    {
        if (secret.Length != SecretLength)
        {
            throw new ArgumentException(
                $"Chunker secret must be {SecretLength} bytes, got {secret.Length}.", nameof(secret));
        }

        var table = new ulong[256];
        Span<byte> message = stackalloc byte[Label.Length + 1];
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Label.CopyTo(message);
        for (int i = 0; i < table.Length; i++)
        {
            message[^1] = (byte)i;
            HMACSHA256.HashData(secret, message, mac);
            table[i] = BinaryPrimitives.ReadUInt64LittleEndian(mac);
        }

        // The MACs are derived from the secret; do not leave them on the stack.
        CryptographicOperations.ZeroMemory(mac);
        return table;
    }

    /// <summary>SHA-256 of entries 0..3 as little-endian bytes; the test vectors pin this.</summary>
    public static byte[] PrefixDigest(ReadOnlySpan<ulong> table)
    {
        Span<byte> bytes = stackalloc byte[4 * sizeof(ulong)];
        for (int i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes[(i * 8)..], table[i]);
        }

        return SHA256.HashData(bytes);
    }
}
