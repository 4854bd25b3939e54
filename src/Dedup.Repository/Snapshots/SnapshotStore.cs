using Dedup.Format;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Trust;

namespace Dedup.Repository.Snapshots;

/// <summary>A decrypted snapshot with what the store and the signature say about it.</summary>
public sealed record LoadedSnapshot(SnapshotHeader Header, SnapshotInfo Info, DateTimeOffset StoredAt)
{
    public ObjectId Id => Header.Id;
    public DomainId Domain => Header.Domain;
    public bool IsTrusted => Header.IsTrusted;

    /// <summary>The time selection and retention go by (see <see cref="SnapshotTimes"/>).</summary>
    public DateTimeOffset EffectiveTime => SnapshotTimes.Effective(this);
}

/// <summary>
/// Which time to believe (spec "Snapshot times"). A full key's claimed time is trusted. A writer's snapshot counts at
/// the time the storage recorded for it, whatever it claims: a compromised host can then neither date snapshots into
/// the future (to win the newest slots) nor into the past (to win the daily, weekly or monthly slots of days before the
/// break-in and push out the genuine snapshots there) — not even by a few hours. An honest writer's storage time is the
/// end of its backup, a few minutes after the start it claims, which shifts no slot that matters.
/// </summary>
public static class SnapshotTimes
{
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromHours(1);
    public static readonly TimeSpan DefaultMaxBackupAge = TimeSpan.FromHours(24);

    public static DateTimeOffset Effective(LoadedSnapshot s) =>
        s.Header.Trust == SignerTrust.Repository || s.StoredAt == default ? s.Info.Time : s.StoredAt;

    /// <summary>
    /// True when a writer's claimed time is implausible: after the storage time by more than the tolerance, or before it
    /// by more than the max backup age (no backup runs that long). Worth a warning; the time used is the storage time anyway.
    /// </summary>
    public static bool ClaimIsImplausible(LoadedSnapshot s, TimeSpan tolerance, TimeSpan maxBackupAge) =>
        s.Header.Trust != SignerTrust.Repository && s.StoredAt != default
        && (s.Info.Time > s.StoredAt + tolerance || s.Info.Time < s.StoredAt - maxBackupAge);
}

/// <summary>Writes, lists and resolves snapshots.</summary>
public sealed class SnapshotStore(Repository repo)
{
    private const int MaxSnapshotBytes = Limits.MaxSnapshotSize;

    /// <summary>Seals, signs and stores a snapshot whose trees are blobs of <paramref name="domain"/> (default: the key's own); the last write of a backup.</summary>
    /// <param name="beforePut">Called with the snapshot's ID just before its PUT (a put-only host records it first).</param>
    public async Task<ObjectId> SaveAsync(SnapshotInfo info, DomainId? domain = null, Action<ObjectId>? beforePut = null, CancellationToken ct = default)
    {
        var bytes = SnapshotEnvelope.Seal(info, domain ?? repo.Keys.Own.Id, repo.Keys);
        var id = ObjectId.HashOf(bytes);
        beforePut?.Invoke(id);
        await repo.Storage.PutAsync(Layout.Snapshot(id), bytes, ct).ConfigureAwait(false);
        return id;
    }

    /// <summary>
    /// The snapshots in the store, without those a tombstone buries (forgotten ones someone uploaded again): a replayed
    /// old snapshot must never become a host's "latest" nor count for retention. <paramref name="includeBuried"/> is for
    /// the admin's clean-up and check.
    /// </summary>
    public async Task<List<(ObjectId Id, DateTimeOffset StoredAt)>> ListAsync(CancellationToken ct = default, bool includeBuried = false)
    {
        var graveyard = includeBuried ? Graveyard.Empty : await repo.GetGraveyardAsync(ct).ConfigureAwait(false);
        var ids = new List<(ObjectId, DateTimeOffset)>();
        await foreach (var obj in repo.Storage.ListAsync(Layout.SnapshotsPrefix, ct).ConfigureAwait(false))
            if (Layout.TryParseId(obj.Name, out var id) && !graveyard.IsBuried(TombstoneKind.Snapshot, id)) ids.Add((id, obj.LastModified));
        return ids;
    }

    /// <summary>Snapshots a tombstone buries that are in the store again: replays.</summary>
    public async Task<List<ObjectId>> ListReplayedAsync(CancellationToken ct = default)
    {
        var graveyard = await repo.GetGraveyardAsync(ct).ConfigureAwait(false);
        return (await ListAsync(ct, includeBuried: true).ConfigureAwait(false)).Select(x => x.Id).Where(id => graveyard.IsBuried(TombstoneKind.Snapshot, id)).ToList();
    }

    public async Task<LoadedSnapshot> LoadAsync(ObjectId id, DateTimeOffset storedAt = default, CancellationToken ct = default)
    {
        var name = Layout.Snapshot(id);
        var bytes = await StoredObjects.ReadVerifiedAsync(repo.Storage, name, id, MaxSnapshotBytes, ct).ConfigureAwait(false);
        if (storedAt == default) storedAt = (await repo.Storage.StatAsync(name, ct).ConfigureAwait(false))?.LastModified ?? default;
        var trust = await repo.GetTrustAsync(ct).ConfigureAwait(false);
        var (header, info) = SnapshotEnvelope.Open(bytes, id, name, repo.Keys, trust, storedAt);
        return new LoadedSnapshot(header, info, storedAt);
    }

    /// <summary>
    /// The plaintext headers of the snapshots this key signed: ID, claimed time and trust. This is all a write-only
    /// key can see of snapshots, and it cannot see other keys' (it skips them without decrypting anything).
    /// </summary>
    public async Task<List<(SnapshotHeader Header, DateTimeOffset StoredAt)>> ListOwnHeadersAsync(CancellationToken ct = default)
    {
        var own = new List<(SnapshotHeader, DateTimeOffset)>();
        var trust = await repo.GetTrustAsync(ct).ConfigureAwait(false);
        foreach (var (id, storedAt) in await ListAsync(ct).ConfigureAwait(false))
        {
            var name = Layout.Snapshot(id);
            try
            {
                var bytes = await StoredObjects.ReadVerifiedAsync(repo.Storage, name, id, MaxSnapshotBytes, ct).ConfigureAwait(false);
                var header = SnapshotEnvelope.ReadHeader(bytes, id, name, trust, storedAt);
                if (header.SignerPublicKey.AsSpan().SequenceEqual(repo.Keys.SigningKey.PublicKey)) own.Add((header, storedAt));
            }
            catch (Exception e) when (e is CorruptObjectException or Dedup.Storage.StorageAccessDeniedException or Dedup.Storage.ObjectNotFoundException)
            {
                // Damaged, gone, or not readable with these credentials: not ours to show.
            }
        }
        return own.OrderBy(h => h.Item2).ToList();
    }

    /// <summary>
    /// Loads every snapshot, trusted or not, oldest first by effective time. Damaged ones are reported to
    /// <paramref name="onDamaged"/> and skipped, so one bad object does not hide the others.
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
            catch (Dedup.Storage.ObjectNotFoundException)
            {
                // Forgotten between listing and reading.
            }
        }).ConfigureAwait(false);
        return result.OfType<LoadedSnapshot>().OrderBy(s => s.EffectiveTime).ThenBy(s => s.Id).ToList();
    }

    /// <summary>
    /// Finds one snapshot: a full ID or unique ID prefix, "latest", "latest~N" (the one N before the latest), or a time
    /// (<see cref="SnapshotTime.Forms"/>: the newest snapshot stored at or before it), among the snapshots
    /// <paramref name="filter"/> admits. Only trusted snapshots are candidates unless the filter says otherwise;
    /// "latest" goes by effective (storage-corrected) time and a time by the storage's time, so a forged or
    /// future-dated snapshot is never picked. Snapshots that cannot be read are skipped by "latest" and by time.
    /// <paramref name="clock"/> gives "now" and the local zone for times (default: the system's).
    /// </summary>
    public async Task<LoadedSnapshot> ResolveAsync(string reference, SnapshotFilter? filter = null, CancellationToken ct = default, TimeProvider? clock = null)
    {
        filter ??= SnapshotFilter.Trusted;
        if (SnapshotTime.LooksLikeTime(reference))
        {
            clock ??= TimeProvider.System;
            if (!SnapshotTime.TryParse(reference, clock.GetUtcNow(), clock.LocalTimeZone, out var moment))
                throw new RepositoryException($"'{reference}' is not a snapshot reference: use an ID, a unique ID prefix, 'latest', 'latest~N' or {SnapshotTime.Forms}.");
            var candidates = (await LoadAllAsync((_, _) => { }, ct).ConfigureAwait(false)).Where(filter.Admits).OrderBy(s => s.Id);
            return SnapshotTime.NewestAtOrBefore(candidates, SnapshotTime.Of, moment)
                   ?? throw new RepositoryException($"There is no {filter.Describe()}snapshot stored at or before {SnapshotTime.Describe(moment, clock.LocalTimeZone)} ('{reference}').");
        }
        if (reference == "latest" || reference.StartsWith("latest~", StringComparison.Ordinal))
        {
            int back = 0;
            if (reference.Length > 6 && (!int.TryParse(reference.AsSpan(7), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out back) || back < 0))
                throw new RepositoryException($"'{reference}' is not a snapshot reference: use latest or latest~N with N a whole number.");
            // A snapshot that cannot be read is no candidate (check reports it): planted junk must not stop every selection.
            var all = (await LoadAllAsync((_, _) => { }, ct).ConfigureAwait(false)).Where(filter.Admits).ToList();
            if (all.Count > back) return all[all.Count - 1 - back];
            throw new RepositoryException(all.Count == 0 ? $"There is no {filter.Describe()}snapshot." : $"There are only {all.Count} {filter.Describe()}snapshots, so '{reference}' does not exist.");
        }
        var lower = reference.ToLowerInvariant();
        if (lower.Length == 0 || !lower.All(Uri.IsHexDigit))
            throw new RepositoryException($"'{reference}' is not a snapshot reference: use an ID, a unique ID prefix, 'latest', 'latest~N' or {SnapshotTime.Forms}.");
        var matches = (await ListAsync(ct).ConfigureAwait(false)).Where(x => x.Id.ToString().StartsWith(lower, StringComparison.Ordinal)).ToList();
        var found = matches.Count switch
        {
            0 => throw new RepositoryException($"No snapshot has an ID starting with '{reference}'. 'dedup snapshots' lists them."),
            1 => await LoadAsync(matches[0].Id, matches[0].StoredAt, ct).ConfigureAwait(false),
            _ => throw new RepositoryException($"'{reference}' matches {matches.Count} snapshots; give more digits."),
        };
        if (!found.IsTrusted && !filter.IncludeUntrusted)
            throw new UntrustedSnapshotException(found);
        if (!filter.Admits(found))
            throw new RepositoryException($"Snapshot {found.Id.ToShortString()} does not match {filter.Describe().TrimEnd()}.");
        return found;
    }
}

/// <summary>Which snapshots a selection considers: trusted only (unless forensics asks), and optionally one host, paths or tags.</summary>
public sealed record SnapshotFilter
{
    public static SnapshotFilter Trusted { get; } = new();
    public string? Host { get; init; }
    public IReadOnlyList<string> Paths { get; init; } = [];
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Also consider snapshots whose signature, certificate or host does not hold up (forensics only).</summary>
    public bool IncludeUntrusted { get; init; }

    public bool Admits(LoadedSnapshot s) =>
        (IncludeUntrusted || s.IsTrusted)
        && (Host is null || s.Info.Host == Host)
        && Paths.All(p => s.Info.Paths.Contains(p))
        && Tags.All(t => s.Info.Tags.Contains(t));

    public string Describe()
    {
        var parts = new List<string>();
        if (!IncludeUntrusted) parts.Add("trusted");
        if (Host is not null) parts.Add($"host '{Host}'");
        if (Paths.Count > 0) parts.Add("paths " + string.Join(",", Paths));
        if (Tags.Count > 0) parts.Add("tags " + string.Join(",", Tags));
        return parts.Count == 0 ? "" : string.Join(" ", parts) + " ";
    }
}

/// <summary>A selection named a snapshot that is not trusted; its contents are not used unless asked for explicitly.</summary>
public sealed class UntrustedSnapshotException(LoadedSnapshot s)
    : RepositoryException($"Snapshot {s.Id.ToShortString()} is not trusted ({s.Header.Signer.Problem ?? "unknown signer"}); it claims host '{s.Info.Host}'. " +
                          "Dedup will not use it; for forensics, add --include-untrusted.")
{
    public LoadedSnapshot Snapshot { get; } = s;
}
