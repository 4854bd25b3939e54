using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Keys;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Maintenance.Keys;

/// <summary>The key operations that delete: removing a key file (revoking a writer) and retiring a password.</summary>
public static class KeyMaintenance
{
    /// <summary>
    /// Writes the open key under a new password, then removes the old file when the store can delete. With append-only
    /// credentials the old file stays (its old password still works) and the result says so.
    /// </summary>
    public static async Task<(ObjectId NewKey, bool OldRemoved)> ChangePasswordAsync(Repo repo, ReadOnlyMemory<byte> password, Argon2Parameters kdf,
        IMaintenanceStorage? storage, CancellationToken ct = default)
    {
        var id = await KeyManager.WriteWithNewPasswordAsync(repo, password, kdf, ct).ConfigureAwait(false);
        if (storage is null) return (id, false);
        try
        {
            // Buried first: the old file, uploaded again by someone who kept it, must not bring the old password back.
            // (Only a full key can sign a tombstone; a write-only key's old file would only reopen the same write-only key.)
            if (repo.Keys.Kind == KeyKind.Full) await Forget.BuryAsync(repo, storage, [(TombstoneKind.KeyFile, repo.KeyId)], ct).ConfigureAwait(false);
            await storage.DeleteAsync(Layout.Key(repo.KeyId), ct).ConfigureAwait(false);
            return (id, true);
        }
        catch (StorageAccessDeniedException)
        {
            return (id, false);
        }
    }

    /// <summary>
    /// Removes a key file. Refuses the key in use and the last full key. A write-only key is also revoked: snapshots,
    /// index files and backup markers it signs that reach the store afterwards count for nothing, even if its holder
    /// kept a copy of the key file.
    /// </summary>
    public static async Task RemoveAsync(Repo repo, IMaintenanceStorage storage, ObjectId id, CancellationToken ct = default)
    {
        var keys = await KeyManager.ListAsync(repo, ct).ConfigureAwait(false);
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
        await Forget.BuryAsync(repo, storage, [(TombstoneKind.KeyFile, id)], ct).ConfigureAwait(false);
        await storage.DeleteAsync(Layout.Key(id), ct).ConfigureAwait(false);
    }
}
