using System.Security.Cryptography;
using Konscious.Security.Cryptography;

namespace Dedup.Crypto;

/// <summary>Turns a passphrase into a 32-byte key-file key with Argon2id.</summary>
public static class PasswordKdf
{
    public const int SaltSize = 32;

    /// <param name="password">The password's bytes exactly as given (a password file's bytes, or typed text as UTF-8):
    /// never decoded and re-encoded, so two different byte strings can never open the same key.</param>
    public static SecretBytes Derive(ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, Argon2Parameters p)
    {
        p.Validate();
        // Konscious wants a byte[]; keep it pinned and zero it as soon as the hash is done.
        var pwd = GC.AllocateArray<byte>(password.Length, pinned: true);
        try
        {
            password.CopyTo(pwd);
            using var argon = new Argon2id(pwd)
            {
                Salt = salt.ToArray(),
                MemorySize = p.MemoryKiB,
                Iterations = p.Iterations,
                DegreeOfParallelism = p.Parallelism,
            };
            var hash = argon.GetBytes(32);
            var key = new SecretBytes(hash);
            CryptographicOperations.ZeroMemory(hash);
            // Argon2 just left tens of MiB of dead memory blocks (it derives key material, so they are worth dropping
            // now too); collect them so a backup's pack buffers do not stack on top of them in peak memory.
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pwd);
        }
    }
}
