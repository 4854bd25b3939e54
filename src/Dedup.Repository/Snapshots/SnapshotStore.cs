using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Repository.Snapshots;

/// <summary>A decrypted snapshot with what the store and the signature say about it.</summary>
public sealed record LoadedSnapshot(SnapshotHeader Header, SnapshotInfo Info, DateTimeOffset StoredAt)
{
    public ObjectId Id => Header.Id;
}

/// <summary>Writes, lists and resolves snapshots.</summary>
public sealed class SnapshotStore(Repository repo)
{
    private const int MaxSnapshotBytes = Limits.MaxSnapshotSize;
    private Task<List<Revocation>>? _revocations;

    private Task<List<Revocation>> Revocations(CancellationToken ct) =>
        _revocations ??= KeyManager.LoadRevocationsAsync(repo.Storage, repo.Config.SigningPublicKeyBytes, ct);

    /// <summary>Seals, signs and stores a snapshot; the last write of a backup.</summary>
    public async Task<ObjectId> SaveAsync(SnapshotInfo info, CancellationToken ct = default)
    {
        var bytes = SnapshotEnvelope.Seal(info, repo.Keys);
        var id = ObjectId.HashOf(bytes);
        await repo.Storage.PutAsync(Layout.Snapshot(id), bytes, ct).ConfigureAwait(false);
        return id;
    }

    public async Task<List<(ObjectId Id, DateTimeOffset StoredAt)>> ListAsync(CancellationToken ct = default)
    {
        var ids = new List<(ObjectId, DateTimeOffset)>();
        await foreach (var obj in repo.Storage.ListAsync(Layout.SnapshotsPrefix, ct).ConfigureAwait(false))
            if (Layout.TryParseId(obj.Name, out var id)) ids.Add((id, obj.LastModified));
        return ids;
    }

    public async Task<LoadedSnapshot> LoadAsync(ObjectId id, DateTimeOffset storedAt = default, CancellationToken ct = default)
    {
        var name = Layout.Snapshot(id);
        var bytes = await StoredObjects.ReadVerifiedAsync(repo.Storage, name, id, MaxSnapshotBytes, ct).ConfigureAwait(false);
        var (header, info) = SnapshotEnvelope.Open(bytes, id, name, repo.Keys, repo.Config.SigningPublicKeyBytes);
        if (storedAt == default) storedAt = (await repo.Storage.StatAsync(name, ct).ConfigureAwait(false))?.LastModified ?? default;
        return new LoadedSnapshot(await ApplyRevocationsAsync(header, storedAt, ct).ConfigureAwait(false), info, storedAt);
    }

    /// <summary>A writer's snapshot that reached the store after its key was revoked is untrusted.</summary>
    private async Task<SnapshotHeader> ApplyRevocationsAsync(SnapshotHeader header, DateTimeOffset storedAt, CancellationToken ct)
    {
        if (header.Trust != SnapshotTrust.CertifiedWriter) return header;
        foreach (var r in await Revocations(ct).ConfigureAwait(false))
            if (r.WriterPublicKey.AsSpan().SequenceEqual(header.SignerPublicKey) && storedAt >= r.RevokedAt)
                return header with { Trust = SnapshotTrust.Untrusted };
        return header;
    }

    /// <summary>
    /// The plaintext headers of the snapshots this key signed: ID, claimed time and trust. This is all a write-only
    /// key can see of snapshots, and it cannot see other keys' (it skips them without decrypting anything).
    /// </summary>
    public async Task<List<(SnapshotHeader Header, DateTimeOffset StoredAt)>> ListOwnHeadersAsync(CancellationToken ct = default)
    {
        var own = new List<(SnapshotHeader, DateTimeOffset)>();
        foreach (var (id, storedAt) in await ListAsync(ct).ConfigureAwait(false))
        {
            var name = Layout.Snapshot(id);
            try
            {
                var bytes = await StoredObjects.ReadVerifiedAsync(repo.Storage, name, id, MaxSnapshotBytes, ct).ConfigureAwait(false);
                var header = SnapshotEnvelope.ReadHeader(bytes, id, name, repo.Config.SigningPublicKeyBytes);
                if (header.SignerPublicKey.AsSpan().SequenceEqual(repo.Keys.SigningKey.PublicKey)) own.Add((header, storedAt));
            }
            catch (Exception e) when (e is CorruptObjectException or Dedup.Storage.StorageAccessDeniedException)
            {
                // Damaged, or not readable with write-only credentials: not ours to show.
            }
        }
        return own.OrderBy(h => h.Item1.ClaimedTime).ToList();
    }

    /// <summary>
    /// Loads every snapshot, oldest first. Damaged ones are reported to <paramref name="onDamaged"/> and skipped,
    /// so one bad object does not hide the others.
    /// </summary>
    public async Task<List<LoadedSnapshot>> LoadAllAsync(Action<ObjectId, CorruptObjectException>? onDamaged = null, CancellationToken ct = default)
    {
        var ids = await ListAsync(ct).ConfigureAwait(false);
        var result = new LoadedSnapshot?[ids.Count];
        await Parallel.ForAsync(0, ids.Count, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (i, token) =>
        {
            try
            {
                result[i] = await LoadAsync(ids[i].Id, ids[i].StoredAt, token).ConfigureAwait(false);
            }
            catch (CorruptObjectException e) when (onDamaged is not null)
            {
                onDamaged(ids[i].Id, e);
            }
        }).ConfigureAwait(false);
        return result.OfType<LoadedSnapshot>().OrderBy(s => s.Info.Time).ThenBy(s => s.Id).ToList();
    }

    /// <summary>Finds a snapshot by full ID, unique ID prefix, or "latest" (optionally of one host).</summary>
    public async Task<LoadedSnapshot> ResolveAsync(string reference, string? host = null, CancellationToken ct = default)
    {
        if (reference == "latest")
        {
            var all = await LoadAllAsync(null, ct).ConfigureAwait(false);
            return all.LastOrDefault(s => host is null || s.Info.Host == host)
                ?? throw new RepositoryException(host is null ? "The repository has no snapshots yet." : $"There is no snapshot of host '{host}'.");
        }
        var lower = reference.ToLowerInvariant();
        if (lower.Length == 0 || !lower.All(Uri.IsHexDigit))
            throw new RepositoryException($"'{reference}' is not a snapshot ID: use an ID, a unique ID prefix, or 'latest'.");
        var matches = (await ListAsync(ct).ConfigureAwait(false)).Where(x => x.Id.ToString().StartsWith(lower, StringComparison.Ordinal)).ToList();
        return matches.Count switch
        {
            0 => throw new RepositoryException($"No snapshot has an ID starting with '{reference}'. 'dedup snapshots' lists them."),
            1 => await LoadAsync(matches[0].Id, matches[0].StoredAt, ct).ConfigureAwait(false),
            _ => throw new RepositoryException($"'{reference}' matches {matches.Count} snapshots; give more digits."),
        };
    }
}
