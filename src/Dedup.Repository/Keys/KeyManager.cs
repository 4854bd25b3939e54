using Dedup.Crypto;
using Dedup.Format;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Repository.Keys;

/// <summary>One key file as 'key list' shows it; readable without that key's password.</summary>
public sealed record KeyListing(ObjectId Id, string Kind, string Host, string Username, DateTimeOffset Created, string SigningPublicKey, string Domain, bool Current);

/// <summary>
/// Adds and lists key files. Every key file opens the same repository; write-only ones cannot decrypt it. Nothing here
/// deletes: removing a key (and revoking a writer) is maintenance (Dedup.Maintenance.KeyMaintenance).
/// </summary>
public static class KeyManager
{
    public static async Task<List<KeyListing>> ListAsync(Repo repo, CancellationToken ct = default)
    {
        var keys = new List<KeyListing>();
        await foreach (var obj in repo.Storage.ListAsync(Layout.KeysPrefix, ct).ConfigureAwait(false))
        {
            if (!Layout.TryParseId(obj.Name, out var id)) continue;
            KeyFile k;
            try
            {
                k = KeyFile.Parse(await StoredObjects.ReadListedAsync(repo.Storage, obj.Name, id, KeyFile.MaxSize, ct).ConfigureAwait(false), obj.Name);
            }
            catch (Exception e) when (e is CorruptObjectException or ObjectNotFoundException)
            {
                // Whoever may put keys/ can plant junk there; it must not stop the admin listing and removing keys
                // (revoking a compromised writer). 'check' reports it.
                continue;
            }
            DateTimeOffset.TryParse(k.Created, null, System.Globalization.DateTimeStyles.RoundtripKind, out var created);
            keys.Add(new KeyListing(id, k.Kind, k.Host, k.Username, created, k.SigningPublicKey, k.Domain, id == repo.KeyId));
        }
        return keys.OrderBy(k => k.Created).ToList();
    }

    /// <summary>
    /// Writes a new key file. A full key carries every secret. A write-only key gets one dedup domain's secret, a
    /// signing key of its own and a certificate binding it to <paramref name="host"/> and that domain, but no read key:
    /// by default a fresh domain of its own, so it deduplicates only against what it stored itself and can learn
    /// nothing of other hosts' data; <paramref name="group"/> names a domain shared with the other keys of that group.
    /// </summary>
    public static async Task<ObjectId> AddAsync(Repo repo, ReadOnlyMemory<byte> password, KeyKind kind, string host, string username,
        Argon2Parameters kdf, string? group = null, CancellationToken ct = default)
    {
        repo.Keys.RequireReadKey("create keys");
        using var keys = kind == KeyKind.Full
            ? repo.Keys.Copy()
            : repo.Keys.IssueWriteOnly(host, group is null ? DomainKeys.RandomDomain() : DomainKeys.NamedDomain(repo.Keys.MasterSecret, group));
        var bytes = KeyFile.Create(keys, repo.ConfigHash, password.Span, kdf, host, username, repo.Clock.GetUtcNow());
        var id = ObjectId.HashOf(bytes);
        await repo.Storage.PutAsync(Layout.Key(id), bytes, ct).ConfigureAwait(false);
        return id;
    }

    /// <summary>
    /// Writes the open key's secrets under a new password as a new key file. The old file is not removed here (that
    /// needs a store that deletes: Dedup.Maintenance.KeyMaintenance); until it is, the old password still opens it.
    /// </summary>
    public static async Task<ObjectId> WriteWithNewPasswordAsync(Repo repo, ReadOnlyMemory<byte> password, Argon2Parameters kdf, CancellationToken ct = default)
    {
        var current = (await ListAsync(repo, ct).ConfigureAwait(false)).Single(k => k.Current);
        using var copy = repo.Keys.Copy();
        var bytes = KeyFile.Create(copy, repo.ConfigHash, password.Span, kdf, current.Host, current.Username, repo.Clock.GetUtcNow());
        var id = ObjectId.HashOf(bytes);
        await repo.Storage.PutAsync(Layout.Key(id), bytes, ct).ConfigureAwait(false);
        return id;
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
                list.Add(Revocation.Open(await StoredObjects.ReadListedAsync(storage, obj.Name, id, 4096, ct).ConfigureAwait(false), repositorySigningKey, obj.Name));
            }
            catch (Exception e) when (e is CorruptObjectException or ObjectNotFoundException)
            {
            }
        }
        return list;
    }
}
