using Dedup.Crypto;
using Dedup.Format;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Repository.Keys;

/// <summary>One key file as 'key list' shows it; readable without that key's password.</summary>
public sealed record KeyListing(ObjectId Id, string Kind, string Host, string Username, DateTimeOffset Created, string SigningPublicKey, bool Current);

/// <summary>Adds, lists and removes key files. Every key file opens the same repository; write-only ones cannot decrypt it.</summary>
public static class KeyManager
{
    public static async Task<List<KeyListing>> ListAsync(Repo repo, CancellationToken ct = default)
    {
        var keys = new List<KeyListing>();
        await foreach (var obj in repo.Storage.ListAsync(Layout.KeysPrefix, ct).ConfigureAwait(false))
        {
            if (!Layout.TryParseId(obj.Name, out var id)) continue;
            var k = KeyFile.Parse(await StoredObjects.ReadVerifiedAsync(repo.Storage, obj.Name, id, 64 * 1024, ct).ConfigureAwait(false), obj.Name);
            DateTimeOffset.TryParse(k.Created, null, System.Globalization.DateTimeStyles.RoundtripKind, out var created);
            keys.Add(new KeyListing(id, k.Kind, k.Host, k.Username, created, k.SigningPublicKey, id == repo.KeyId));
        }
        return keys.OrderBy(k => k.Created).ToList();
    }

    /// <summary>
    /// Writes a new key file. A full key carries every secret; a write-only key gets the chunker, blob-ID and index
    /// secrets, a signing key of its own and a certificate binding it to <paramref name="host"/>, but no read key.
    /// </summary>
    public static async Task<ObjectId> AddAsync(Repo repo, ReadOnlyMemory<byte> password, KeyKind kind, string host, string username,
        Argon2Parameters kdf, CancellationToken ct = default)
    {
        repo.Keys.RequireReadKey("create keys");
        var source = repo.Keys;
        RepositoryKeys keys;
        if (kind == KeyKind.Full)
        {
            keys = new RepositoryKeys(KeyKind.Full, source.RepositoryId, new SecretBytes(source.ChunkerSecret.Span), new SecretBytes(source.BlobIdKey.Span),
                new SecretBytes(source.IndexKey.Span), SigningKeyCopy(source.SigningKey), ReadKeyCopy(source.ReadKey!), source.ReadPublicKey, []);
        }
        else
        {
            var signing = SigningKey.Generate();
            var cert = WriterCertificate.Issue(source.SigningKey, signing.PublicKey, host);
            keys = new RepositoryKeys(KeyKind.WriteOnly, source.RepositoryId, new SecretBytes(source.ChunkerSecret.Span), new SecretBytes(source.BlobIdKey.Span),
                new SecretBytes(source.IndexKey.Span), signing, null, source.ReadPublicKey, cert);
        }
        using (keys)
        {
            var bytes = KeyFile.Create(keys, repo.ConfigHash, password.Span, kdf, host, username, repo.Clock.GetUtcNow());
            var id = ObjectId.HashOf(bytes);
            await repo.Storage.PutAsync(Layout.Key(id), bytes, ct).ConfigureAwait(false);
            return id;
        }
    }

    /// <summary>
    /// Re-seals the open key's secrets under a new password as a new key file, then removes the old file when the
    /// store can delete. With append-only credentials the old file stays (its old password still works) and the
    /// result says so, so the caller can tell the user to remove it from the admin host.
    /// </summary>
    public static async Task<(ObjectId NewKey, bool OldRemoved)> ChangePasswordAsync(Repo repo, ReadOnlyMemory<byte> password, Argon2Parameters kdf,
        IMaintenanceStorage? storage, CancellationToken ct = default)
    {
        var current = (await ListAsync(repo, ct).ConfigureAwait(false)).Single(k => k.Current);
        var k = repo.Keys;
        using var copy = new RepositoryKeys(k.Kind, k.RepositoryId, new SecretBytes(k.ChunkerSecret.Span), new SecretBytes(k.BlobIdKey.Span),
            new SecretBytes(k.IndexKey.Span), SigningKeyCopy(k.SigningKey), k.ReadKey is null ? null : ReadKeyCopy(k.ReadKey), k.ReadPublicKey, k.Certificate);
        var bytes = KeyFile.Create(copy, repo.ConfigHash, password.Span, kdf, current.Host, current.Username, repo.Clock.GetUtcNow());
        var id = ObjectId.HashOf(bytes);
        await repo.Storage.PutAsync(Layout.Key(id), bytes, ct).ConfigureAwait(false);
        if (storage is null) return (id, false);
        try
        {
            await storage.DeleteAsync(Layout.Key(repo.KeyId), ct).ConfigureAwait(false);
            return (id, true);
        }
        catch (StorageAccessDeniedException)
        {
            return (id, false);
        }
    }

    /// <summary>
    /// Removes a key file. Refuses the key in use and the last full key. A write-only key is also revoked, so that
    /// snapshots it signs later are untrusted even if its holder kept a copy of the key file.
    /// </summary>
    public static async Task RemoveAsync(Repo repo, IMaintenanceStorage storage, ObjectId id, CancellationToken ct = default)
    {
        var keys = await ListAsync(repo, ct).ConfigureAwait(false);
        var victim = keys.Find(k => k.Id == id) ?? throw new RepositoryException($"There is no key {id.ToShortString()}. 'dedup key list' shows the keys.");
        if (victim.Current) throw new RepositoryException("Refusing to remove the key this command was opened with; open with another key to remove it.");
        if (victim.Kind == "full" && keys.Count(k => k.Kind == "full") == 1)
            throw new RepositoryException("Refusing to remove the last full key: without it nobody could read the repository.");
        if (victim.Kind == "write-only")
        {
            repo.Keys.RequireReadKey("revoke keys");
            var revocation = new Revocation(Convert.FromBase64String(victim.SigningPublicKey), repo.Clock.GetUtcNow()).Seal(repo.Keys.SigningKey);
            await storage.PutAsync(Revocation.Prefix + ObjectId.HashOf(revocation), revocation, ct).ConfigureAwait(false);
        }
        await storage.DeleteAsync(Layout.Key(id), ct).ConfigureAwait(false);
    }

    /// <summary>All valid revocations, for trust evaluation. Forged ones (bad signature) are ignored.</summary>
    public static async Task<List<Revocation>> LoadRevocationsAsync(IStorage storage, byte[] repositorySigningKey, CancellationToken ct = default)
    {
        var list = new List<Revocation>();
        await foreach (var obj in storage.ListAsync(Revocation.Prefix, ct).ConfigureAwait(false))
        {
            if (!Layout.TryParseId(obj.Name, out var id)) continue;
            try
            {
                list.Add(Revocation.Open(await StoredObjects.ReadVerifiedAsync(storage, obj.Name, id, 4096, ct).ConfigureAwait(false), repositorySigningKey, obj.Name));
            }
            catch (CorruptObjectException)
            {
            }
        }
        return list;
    }

    private static SigningKey SigningKeyCopy(SigningKey k)
    {
        using var d = k.ExportPrivate();
        return SigningKey.Import(d.Span);
    }

    private static ReadKey ReadKeyCopy(ReadKey k)
    {
        using var d = k.ExportPrivate();
        return ReadKey.Import(d.Span);
    }
}
