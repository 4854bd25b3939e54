using Dedup.Crypto;
using Dedup.Format;

namespace Dedup.Repository.Keys;

/// <summary>
/// The binary plaintext sealed inside a key file (spec "Key files"): version (1) = 2, kind (1), repository ID (32),
/// config SHA-256 (32), signing key scalar (32), then for a full key the master secret (32) and the read key scalar
/// (32), and for a write-only key its domain ID (16), domain secret (32) and certificate (varint length + bytes).
/// Binary rather than JSON so the secrets never pass through immutable strings.
/// </summary>
internal static class KeyPayload
{
    public const byte Version = 2;

    public static void Write(PooledBufferWriter w, RepositoryKeys k, byte[] configHash)
    {
        w.WriteByte(Version);
        w.WriteByte((byte)k.Kind);
        w.WriteId(k.RepositoryId);
        w.Write(configHash);
        using (var signing = k.SigningKey.ExportPrivate()) w.Write(signing.Span);
        if (k.Kind == KeyKind.Full)
        {
            w.Write(k.MasterSecret);
            using var read = k.ReadKey!.ExportPrivate();
            w.Write(read.Span);
        }
        else
        {
            w.WriteDomain(k.Own.Id);
            w.Write(k.OwnDomainSecret);
            w.WriteBlob(k.Certificate);
        }
    }

    public static (RepositoryKeys Keys, byte[] ConfigHash) Read(ReadOnlySpan<byte> plain, string name, RepositoryConfig config)
    {
        var r = new SpanReader(plain, name);
        if (r.ReadByte() != Version) throw r.Corrupt("unknown key payload version");
        byte kind = r.ReadByte();
        if (kind > (byte)KeyKind.WriteOnly) throw r.Corrupt("unknown key kind");
        var repoId = r.ReadId();
        var configHash = r.ReadBytes(32).ToArray();
        SigningKey? signing = null;
        ReadKey? read = null;
        SecretBytes? secret = null;
        try
        {
            signing = SigningKey.Import(r.ReadBytes(32));
            RepositoryKeys keys;
            if (kind == (byte)KeyKind.Full)
            {
                secret = new SecretBytes(r.ReadBytes(32));
                read = ReadKey.Import(r.ReadBytes(32));
                r.ExpectEnd();
                if (!read.PublicKey.AsSpan().SequenceEqual(config.ReadPublicKeyBytes))
                    throw new CorruptObjectException(Layout.Config, "its read public key does not match the key file's read key");
                keys = RepositoryKeys.Full(repoId, secret, signing, read);
            }
            else
            {
                var domain = r.ReadDomain();
                if (domain.IsRepository) throw r.Corrupt("a write-only key cannot hold the full keys' domain");
                secret = new SecretBytes(r.ReadBytes(32));
                var cert = r.ReadBlob(WriterCertificate.MaxSize, "certificate").ToArray();
                r.ExpectEnd();
                keys = RepositoryKeys.WriteOnly(repoId, domain, secret, signing, config.ReadPublicKeyBytes, cert);
            }
            return (keys, configHash);
        }
        catch (Exception e) when (e is not CorruptObjectException)
        {
            // Only reachable with an authentic payload holding an invalid scalar: report it, never leak key bytes.
            Dispose(secret, signing, read);
            throw new CorruptObjectException(name, "the sealed key material is invalid", e);
        }
        catch
        {
            Dispose(secret, signing, read);
            throw;
        }
    }

    private static void Dispose(params IDisposable?[] items)
    {
        foreach (var i in items) i?.Dispose();
    }
}
