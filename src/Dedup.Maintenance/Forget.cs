using Dedup.Format;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Snapshots;
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
    /// <summary>How far a snapshot's claimed time may lie after the time the storage recorded before it is distrusted.</summary>
    public TimeSpan ClockTolerance { get; init; } = TimeSpan.FromHours(1);
}

public sealed record ForgetItem(string Id, DateTimeOffset ClaimedTime, DateTimeOffset EffectiveTime, string Host, IReadOnlyList<string> Paths,
    bool Keep, IReadOnlyList<string> Reasons, string? Warning);

public sealed record ForgetGroup(string Key, IReadOnlyList<ForgetItem> Items);

public sealed record ForgetResult(IReadOnlyList<ForgetGroup> Groups, IReadOnlyList<ForgetItem> Untrusted, int Removed);

/// <summary>
/// Removes snapshots by a retention policy. It does not trust what clients claim: a snapshot's time is its claimed
/// time only when that is not later than the storage's own timestamp (plus a tolerance), and groups always include the
/// signing identity, so a compromised host can neither push out others' snapshots with future-dated fakes nor plant
/// snapshots in their groups. Snapshots whose signature fails are never counted or removed by a policy; check flags them.
/// </summary>
public static class Forget
{
    public static async Task<ForgetResult> RunAsync(Repo repo, IMaintenanceStorage storage, ForgetOptions options, CancellationToken ct = default)
    {
        var all = await repo.Snapshots.LoadAllAsync((_, _) => { }, ct).ConfigureAwait(false);
        var trusted = all.Where(s => s.Header.Trust != SnapshotTrust.Untrusted).ToList();
        var untrusted = all.Except(trusted).Select(s => Item(s, options, false, ["untrusted signature"])).ToList();

        List<ForgetGroup> groups;
        if (options.Ids.Count > 0)
        {
            var chosen = new HashSet<string>();
            foreach (var reference in options.Ids) chosen.Add((await repo.Snapshots.ResolveAsync(reference, null, ct).ConfigureAwait(false)).Id.ToString());
            groups = [new ForgetGroup("explicit", all.Where(s => chosen.Contains(s.Id.ToString())).Select(s => Item(s, options, false, ["named"])).ToList())];
        }
        else
        {
            if (options.Policy.IsEmpty) throw new ArgumentException("Give a policy (--keep-last, --keep-daily, …) or snapshot IDs; forget removes nothing by default.");
            groups = trusted.GroupBy(s => GroupKey(s, options.GroupBy)).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
            {
                var byId = g.ToDictionary(s => s.Id.ToString());
                var decisions = options.Policy.Apply(g.Select(s => new RetentionPolicy.Candidate(s.Id.ToString(), EffectiveTime(s, options), s.Info.Tags)));
                return new ForgetGroup(g.Key, decisions.Select(d => Item(byId[d.Id], options, d.Keep, d.Reasons)).ToList());
            }).ToList();
        }

        int removed = 0;
        var sessions = all.ToDictionary(s => s.Id.ToString(), s => s.Info.Session);
        if (!options.DryRun)
            foreach (var item in groups.SelectMany(g => g.Items).Where(i => !i.Keep))
            {
                await storage.DeleteAsync(Layout.Snapshot(ObjectId.Parse(item.Id)), ct).ConfigureAwait(false);
                // The backup that wrote it has finished: retire its marker too, or prune would wait on it as if it were running.
                if (sessions[item.Id] is { } session && ObjectId.TryParse(session, out _))
                    await storage.DeleteAsync(BackupMarker.Prefix + session, ct).ConfigureAwait(false);
                removed++;
            }
        return new ForgetResult(groups, untrusted, removed);
    }

    /// <summary>The time retention uses: the claimed time, unless it lies after what the storage recorded.</summary>
    public static DateTimeOffset EffectiveTime(LoadedSnapshot s, ForgetOptions options) =>
        s.StoredAt != default && s.Info.Time > s.StoredAt + options.ClockTolerance ? s.StoredAt : s.Info.Time;

    private static ForgetItem Item(LoadedSnapshot s, ForgetOptions options, bool keep, IReadOnlyList<string> reasons)
    {
        var effective = EffectiveTime(s, options);
        string? warning = effective != s.Info.Time
            ? $"claimed time {s.Info.Time:u} is after the storage time {s.StoredAt:u}; using the storage time"
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
        parts.Add("signer=" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(s.Header.SignerPublicKey))[..16]);
        return string.Join(" ", parts);
    }
}
