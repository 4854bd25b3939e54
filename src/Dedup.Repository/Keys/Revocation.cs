using Dedup.Crypto;
using Dedup.Format;

namespace Dedup.Repository.Keys;

/// <summary>
/// A revocation (revocations/&lt;sha256&gt;), written by 'key remove' for a write-only key: snapshots that key
/// signs and that reach the store after the revocation time are untrusted.
/// Layout: "DDRV" | version (1) = 1 | revoked at (i64 LE, Unix ms) | writer public key (65) | repository signature (64).
/// </summary>
public sealed record Revocation(byte[] WriterPublicKey, DateTimeOffset RevokedAt)
{
    public const string Prefix = "revocations/";
    private static ReadOnlySpan<byte> Magic => "DDRV"u8;
    private const int SignedLength = 4 + 1 + 8 + 65;

    public byte[] Seal(SigningKey repositoryKey)
    {
        var bytes = new byte[SignedLength + SigningKey.SignatureSize];
        Magic.CopyTo(bytes);
        bytes[4] = 1;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(5), RevokedAt.ToUnixTimeMilliseconds());
        WriterPublicKey.CopyTo(bytes.AsSpan(13));
        repositoryKey.Sign(bytes.AsSpan(0, SignedLength), bytes.AsSpan(SignedLength));
        return bytes;
    }

    public static Revocation Open(ReadOnlySpan<byte> stored, byte[] repositorySigningKey, string name)
    {
        if (stored.Length != SignedLength + SigningKey.SignatureSize || !stored[..4].SequenceEqual(Magic) || stored[4] != 1)
            throw new CorruptObjectException(name, "not a revocation");
        if (!SigningKey.Verify(repositorySigningKey, stored[..SignedLength], stored[SignedLength..]))
            throw new CorruptObjectException(name, "its signature is not the repository's");
        long ms = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(stored[5..]);
        if (ms < 0 || ms > 253402300799999) throw new CorruptObjectException(name, "time out of range");
        return new Revocation(stored.Slice(13, 65).ToArray(), DateTimeOffset.FromUnixTimeMilliseconds(ms));
    }
}
