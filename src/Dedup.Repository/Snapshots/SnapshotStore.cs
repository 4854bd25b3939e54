using Dedup.Format;

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
        return new LoadedSnapshot(header, info, storedAt);
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
