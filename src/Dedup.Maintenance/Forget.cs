using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Snapshots;
using Dedup.Repository.Trust;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Maintenance;

public sealed record ForgetOptions
{
    public RetentionPolicy Policy { get; init; } = new();
    /// <summary>Any of "host", "paths", "tags"; the signing identity is always part of the group.</summary>
    public IReadOnlyList<string> GroupBy { get; init; } = ["host", "paths"];
    /// <summary>Snapshots to remove by ID or prefix, instead of applying a policy.</summary>
    public IReadOnlyList<string> Ids { get; init; } = [];
    public bool DryRun { get; init; }
    /// <summary>How far a writer's claimed time may lie after the storage time before it is reported as implausible (retention always uses the storage time for writers).</summary>
    public TimeSpan ClockTolerance { get; init; } = SnapshotTimes.DefaultTolerance;
    /// <summary>How far a writer's claimed time may lie before the storage time (a backup never runs longer) before it is reported as implausible.</summary>
    public TimeSpan MaxBackupAge { get; init; } = SnapshotTimes.DefaultMaxBackupAge;
}

public sealed record ForgetItem(string Id, DateTimeOffset ClaimedTime, DateTimeOffset EffectiveTime, string Host, IReadOnlyList<string> Paths,
    bool Keep, IReadOnlyList<string> Reasons, string? Warning);

public sealed record ForgetGroup(string Key, IReadOnlyList<ForgetItem> Items);

public sealed record ForgetResult(IReadOnlyList<ForgetGroup> Groups, IReadOnlyList<ForgetItem> Untrusted, int Removed)
{
    /// <summary>Snapshots forgotten before and uploaded again (replays), which this run removed again (or would, in a dry run).</summary>
    public IReadOnlyList<string> Replayed { get; init; } = [];
}

/// <summary>
/// Removes snapshots by a retention policy. It does not trust what writers claim (spec "Snapshot times", "Retention"):
/// <list type="bullet">
/// <item>a writer's snapshot counts at the time the storage recorded for it, whatever it claims, so it can neither take
/// the newest slots with a future date
/// nor old daily, weekly or monthly slots with a past one;</item>
/// <item>groups always include the signing identity, so one host's snapshots never compete with another's;</item>
/// <item>the newest trusted snapshot of each writer's group is always kept: a host that cannot read the repository
/// deduplicates against it, so its blobs must stay;</item>
/// <item>snapshots that are not trusted are never counted nor removed by a policy (check lists them).</item>
/// </list>
/// </summary>
public static class Forget
{
    public static async Task<ForgetResult> RunAsync(Repo repo, IMaintenanceStorage storage, ForgetOptions options, CancellationToken ct = default)
    {
        var all = await repo.Snapshots.LoadAllAsync((_, _) => { }, ct).ConfigureAwait(false);
        var trusted = all.Where(s => s.IsTrusted).ToList();
        var untrusted = all.Where(s => !s.IsTrusted).Select(s => Item(s, options, false, ["not trusted: " + s.Header.Signer.Problem])).ToList();
        var newestOfWriters = NewestOfWriters(trusted);

        List<ForgetGroup> groups;
        if (options.Ids.Count > 0)
        {
            var chosen = new HashSet<string>();
            foreach (var reference in options.Ids)
            {
                // Naming a snapshot removes it even when it is not trusted: that is how forged ones are cleaned up.
                var s = await repo.Snapshots.ResolveAsync(reference, SnapshotFilter.Trusted with { IncludeUntrusted = true }, ct).ConfigureAwait(false);
                if (newestOfWriters.Contains(s.Id))
                    throw new RepositoryException($"Snapshot {s.Id.ToShortString()} is the newest of writer '{s.Info.Host}' for its paths; hosts that cannot read the repository deduplicate against it, so it stays until a newer one arrives or the writer's key is removed ('dedup key remove').");
                chosen.Add(s.Id.ToString());
            }
            groups = [new ForgetGroup("explicit", all.Where(s => chosen.Contains(s.Id.ToString())).Select(s => Item(s, options, false, ["named"])).ToList())];
        }
        else
        {
            if (options.Policy.IsEmpty) throw new ArgumentException("Give a policy (--keep-last, --keep-daily, …) or snapshot IDs; forget removes nothing by default.");
            groups = trusted.GroupBy(s => GroupKey(s, options.GroupBy)).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
            {
                var byId = g.ToDictionary(s => s.Id.ToString());
                var decisions = options.Policy.Apply(g.Select(s => new RetentionPolicy.Candidate(s.Id.ToString(), SnapshotTimes.Effective(s), s.Info.Tags)));
                return new ForgetGroup(g.Key, decisions.Select(d =>
                {
                    var s = byId[d.Id];
                    return newestOfWriters.Contains(s.Id) && !d.Keep
                        ? Item(s, options, true, ["newest of writer"])
                        : Item(s, options, d.Keep, d.Reasons);
                }).ToList());
            }).ToList();
        }

        int removed = 0;
        var byId = all.ToDictionary(s => s.Id.ToString());
        var replayed = await repo.Snapshots.ListReplayedAsync(ct).ConfigureAwait(false);
        var doomed = groups.SelectMany(g => g.Items).Where(i => !i.Keep).ToList();
        if (!options.DryRun && doomed.Count > 0)
        {
            // The tombstone first: a snapshot removed now and uploaded again later (by a host that kept a copy) stays gone.
            await BuryAsync(repo, storage, doomed.Select(i => (TombstoneKind.Snapshot, ObjectId.Parse(i.Id))).ToList(), ct).ConfigureAwait(false);
        }
        if (!options.DryRun)
        {
            // Forgotten snapshots someone uploaded again: already buried, so only the copies go.
            foreach (var id in replayed) await storage.DeleteAsync(Layout.Snapshot(id), ct).ConfigureAwait(false);
            foreach (var item in doomed)
            {
                await storage.DeleteAsync(Layout.Snapshot(ObjectId.Parse(item.Id)), ct).ConfigureAwait(false);
                // The backup that wrote it has finished: retire its marker too, or prune would wait on it as if it were running.
                if (await OwnMarkerAsync(repo, byId[item.Id], ct).ConfigureAwait(false) is { } marker)
                    await storage.DeleteAsync(marker, ct).ConfigureAwait(false);
                removed++;
            }
        }
        return new ForgetResult(groups, untrusted, removed) { Replayed = replayed.Select(r => r.ToString()).ToList() };
    }

    /// <summary>Writes a tombstone for objects about to be removed (spec "Tombstones"); create-only, like every object.</summary>
    internal static async Task BuryAsync(Repo repo, IMaintenanceStorage storage, IReadOnlyCollection<(TombstoneKind, ObjectId)> entries, CancellationToken ct)
    {
        var bytes = Tombstone.Seal(repo.Clock.GetUtcNow(), entries, repo.Keys);
        await storage.PutAsync(Tombstone.Prefix + ObjectId.HashOf(bytes), bytes, ct).ConfigureAwait(false);
        repo.ForgetLoadedGraveyard();
    }

    /// <summary>
    /// The marker the snapshot names as its session, if its own signer wrote it. Marker IDs are visible to anyone who may
    /// list inflight/: a snapshot naming another signer's marker (a compromised host naming a running backup of another)
    /// must not retire it. A marker that is gone or cannot be read is left to prune.
    /// </summary>
    private static async Task<string?> OwnMarkerAsync(Repo repo, LoadedSnapshot snapshot, CancellationToken ct)
    {
        if (snapshot.Info.Session is not { } session || !ObjectId.TryParse(session, out var id)) return null;
        var name = BackupMarker.Prefix + session;
        try
        {
            var bytes = await StoredObjects.ReadVerifiedAsync(repo.Storage, name, id, BackupMarker.MaxSize, ct).ConfigureAwait(false);
            var trust = await repo.GetTrustAsync(ct).ConfigureAwait(false);
            var marker = BackupMarker.Open(bytes, id, default, repo.Keys, trust, name);
            return marker.Signer.PublicKey.AsSpan().SequenceEqual(snapshot.Header.SignerPublicKey) ? name : null;
        }
        catch (Exception e) when (e is CorruptObjectException or ObjectNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// How finely stores record when an object was stored: S3 gives whole seconds. Two snapshots stored within it cannot
    /// be ordered, so both count as a writer's newest.
    /// </summary>
    public static readonly TimeSpan StorageTimeResolution = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The newest trusted snapshots (by storage time) of each certified writer and path set: every one stored within
    /// <see cref="StorageTimeResolution"/> of the newest, since a put-only host deduplicates against the one it knows it
    /// stored last, which the store's clock may not tell apart from another stored in the same second.
    /// </summary>
    private static HashSet<ObjectId> NewestOfWriters(List<LoadedSnapshot> trusted) =>
        trusted.Where(s => s.Header.Trust == SignerTrust.CertifiedWriter)
            .GroupBy(s => s.Header.Signer.Identity + "\n" + string.Join("\n", s.Info.Paths))
            .SelectMany(g =>
            {
                var newest = g.Max(s => s.StoredAt);
                return g.Where(s => newest - s.StoredAt < StorageTimeResolution);
            })
            .Select(s => s.Id)
            .ToHashSet();

    private static ForgetItem Item(LoadedSnapshot s, ForgetOptions options, bool keep, IReadOnlyList<string> reasons)
    {
        var effective = SnapshotTimes.Effective(s);
        string? warning = SnapshotTimes.ClaimIsImplausible(s, options.ClockTolerance, options.MaxBackupAge)
            ? $"claimed time {s.Info.Time:u} is implausibly far from the storage time {s.StoredAt:u}; retention uses the storage time"
            : null;
        return new ForgetItem(s.Id.ToString(), s.Info.Time, effective, s.Info.Host, s.Info.Paths, keep, reasons, warning);
    }

    private static string GroupKey(LoadedSnapshot s, IReadOnlyList<string> by)
    {
        var parts = new List<string>();
        if (by.Contains("host")) parts.Add("host=" + s.Info.Host);
        if (by.Contains("paths")) parts.Add("paths=" + string.Join(",", s.Info.Paths));
        if (by.Contains("tags")) parts.Add("tags=" + string.Join(",", s.Info.Tags.Order(StringComparer.Ordinal)));
        // Always separate signing identities: a write-only host's snapshots never share a group with another key's.
        parts.Add("signer=" + s.Header.Signer.Identity);
        return string.Join(" ", parts);
    }
}
