using System.Security.Cryptography;

namespace Dedup.Crypto;

/// <summary>
/// Key material in a pinned array (so the GC never leaves copies behind) that is zeroed on Dispose.
/// Every secret the repository holds lives in one of these.
/// </summary>
public sealed class SecretBytes : IDisposable
{
    private readonly byte[] _bytes;
    private bool _disposed;

    public SecretBytes(int length) => _bytes = GC.AllocateArray<byte>(length, pinned: true);

    public SecretBytes(ReadOnlySpan<byte> source) : this(source.Length) => source.CopyTo(_bytes);

    public static SecretBytes Random(int length)
    {
        var s = new SecretBytes(length);
        RandomNumberGenerator.Fill(s._bytes);
        return s;
    }

    public int Length => _bytes.Length;

    public ReadOnlySpan<byte> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _bytes;
        }
    }

    /// <summary>Writable view, for filling the secret in place (key derivation output).</summary>
    public Span<byte> WritableSpan
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _bytes;
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        CryptographicOperations.ZeroMemory(_bytes);
        _disposed = true;
    }
}
