using Dedup.Crypto;
using Dedup.Format;

namespace Dedup.Repository.Keys;

/// <summary>
/// The binary plaintext sealed inside a key file: version (1) = 1, kind (1), repository ID (32),
/// config SHA-256 (32), chunker secret (32), blob-ID key (32), index key (32), signing key scalar (32),
/// read key flag (1) and scalar (32, only when the flag is 1), certificate (varint length + bytes).
/// Binary rather than JSON so the secrets never pass through immutable strings.
/// </summary>
internal static class KeyPayload
{
    public static void Write(PooledBufferWriter w, RepositoryKeys k, byte[] configHash)
    {
        w.WriteByte(1);
        w.WriteByte((byte)k.Kind);
        w.WriteId(k.RepositoryId);
        w.Write(configHash);
        w.Write(k.ChunkerSecret.Span);
        w.Write(k.BlobIdKey.Span);
        w.Write(k.IndexKey.Span);
        using (var signing = k.SigningKey.ExportPrivate()) w.Write(signing.Span);
        if (k.ReadKey is { } read)
        {
            w.WriteByte(1);
            using var d = read.ExportPrivate();
            w.Write(d.Span);
        }
        else
        {
            w.WriteByte(0);
        }
        w.WriteBlob(k.Certificate);
    }

    public static (RepositoryKeys Keys, byte[] ConfigHash) Read(ReadOnlySpan<byte> plain, string name, RepositoryConfig config)
    {
        var r = new SpanReader(plain, name);
        if (r.ReadByte() != 1) throw r.Corrupt("unknown key payload version");
        byte kind = r.ReadByte();
        if (kind > (byte)KeyKind.WriteOnly) throw r.Corrupt("unknown key kind");
        var repoId = r.ReadId();
        var configHash = r.ReadBytes(32).ToArray();
        var chunker = new SecretBytes(r.ReadBytes(32));
        var blobId = new SecretBytes(r.ReadBytes(32));
        var index = new SecretBytes(r.ReadBytes(32));
        SigningKey? signing = null;
        ReadKey? read = null;
        try
        {
            signing = SigningKey.Import(r.ReadBytes(32));
            byte hasRead = r.ReadByte();
            if (hasRead > 1 || (hasRead == 1) != (kind == (byte)KeyKind.Full)) throw r.Corrupt("read key presence disagrees with the key kind");
            if (hasRead == 1) read = ReadKey.Import(r.ReadBytes(32));
            var cert = r.ReadBlob(1024, "certificate").ToArray();
            r.ExpectEnd();
            var readPublic = config.ReadPublicKeyBytes;
            if (read is not null && !read.PublicKey.AsSpan().SequenceEqual(readPublic))
                throw new CorruptObjectException(Layout.Config, "its read public key does not match the key file's read key");
            return (new RepositoryKeys((KeyKind)kind, repoId, chunker, blobId, index, signing, read, readPublic, cert), configHash);
        }
        catch (Exception e) when (e is not CorruptObjectException)
        {
            // Only reachable with an authentic payload holding an invalid scalar: report it, never leak key bytes.
            Dispose(chunker, blobId, index, signing, read);
            throw new CorruptObjectException(name, "the sealed key material is invalid", e);
        }
        catch
        {
            Dispose(chunker, blobId, index, signing, read);
            throw;
        }
    }

    private static void Dispose(params IDisposable?[] items)
    {
        foreach (var i in items) i?.Dispose();
    }
}
