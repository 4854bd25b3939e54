using Dedup.Storage;
using Dedup.Storage.S3;

namespace Dedup.Maintenance.ObjectLock;

/// <summary>What a sweep of old versions did, and what it had to leave locked.</summary>
public sealed class VersionSweepReport
{
    public int VersionsDeleted;
    public long BytesFreed;
    public int DeleteMarkersRemoved;
    /// <summary>Deleted names whose old versions are still under retention: a later run removes them.</summary>
    public int NamesLocked;
    public int VersionsLocked;
    public long BytesLocked;
    /// <summary>When the last of the locked versions leaves retention.</summary>
    public DateTimeOffset? LockedUntil;
    /// <summary>Deleted names kept because <c>mayGo</c> said no (the index still lists the pack).</summary>
    public int NamesKept;
    /// <summary>Deleted less than the keep-deleted window ago: their versions stay, for recovery, until <see cref="RecentUntil"/>.</summary>
    public int NamesRecent;
    public long BytesRecent;
    public DateTimeOffset? RecentUntil;
}

/// <summary>
/// On a versioned bucket a delete only adds a delete marker; the bytes stay as a noncurrent version. This removes, under
/// a prefix, the old versions of names that are no longer live (the newest entry is a delete marker), that the caller
/// lets go, and that were deleted at least <c>keepDeleted</c> ago, once their retention has expired; and, when none is
/// left, the delete markers. The keep-deleted window is what versioning is for: whatever deleted a name (a prune that
/// misjudged damage as unused, an attacker with admin credentials), the bytes stay recoverable that long. Versions of live names are never
/// touched: an old version of a live pack may be the genuine bytes under an overwrite, and recovery reads it.
/// Safe alongside writers: it deletes only the version IDs it listed, so a version written meanwhile (a host uploading
/// the same name again) stays current.
/// </summary>
public static class VersionSweeper
{
    public static async Task<VersionSweepReport> SweepAsync(S3Storage s3, string prefix, Func<string, bool> mayGo, TimeSpan keepDeleted, TimeProvider clock,
        CancellationToken ct = default)
    {
        var report = new VersionSweepReport();
        var group = new List<ObjectVersion>();
        await foreach (var v in s3.ListVersionsAsync(prefix, ct).ConfigureAwait(false))
        {
            if (group.Count > 0 && group[0].Name != v.Name)
            {
                await SweepNameAsync(s3, group, mayGo, keepDeleted, clock, report, ct).ConfigureAwait(false);
                group.Clear();
            }
            group.Add(v);
        }
        if (group.Count > 0) await SweepNameAsync(s3, group, mayGo, keepDeleted, clock, report, ct).ConfigureAwait(false);
        return report;
    }

    /// <param name="versions">One name's versions and markers, newest first.</param>
    private static async Task SweepNameAsync(S3Storage s3, List<ObjectVersion> versions, Func<string, bool> mayGo, TimeSpan keepDeleted, TimeProvider clock,
        VersionSweepReport report, CancellationToken ct)
    {
        var newest = versions.FirstOrDefault(v => v.IsLatest) ?? versions[0];
        if (!newest.IsDeleteMarker) return; // live
        var name = newest.Name;
        if (!mayGo(name))
        {
            report.NamesKept++;
            return;
        }
        var keptUntil = newest.LastModified + keepDeleted;
        if (keptUntil > clock.GetUtcNow())
        {
            report.NamesRecent++;
            report.BytesRecent += versions.Where(v => !v.IsDeleteMarker).Sum(v => v.Size);
            if (report.RecentUntil is not { } r || keptUntil > r) report.RecentUntil = keptUntil;
            return;
        }
        var locked = 0;
        foreach (var v in versions.Where(v => !v.IsDeleteMarker))
        {
            var retention = await s3.GetRetentionAsync(name, v.VersionId, ct).ConfigureAwait(false);
            var now = clock.GetUtcNow();
            if (retention is not null && retention.IsLockedAt(now))
            {
                locked++;
                report.VersionsLocked++;
                report.BytesLocked += v.Size;
                if (report.LockedUntil is not { } u || retention.RetainUntil!.Value > u) report.LockedUntil = retention.RetainUntil;
                continue;
            }
            try
            {
                await s3.DeleteVersionAsync(name, v.VersionId, bypassGovernance: false, ct).ConfigureAwait(false);
            }
            catch (StorageAccessDeniedException)
            {
                // Locked after all (a lock with no date we could read, or a legal hold): a later run tries again.
                locked++;
                report.VersionsLocked++;
                report.BytesLocked += v.Size;
                continue;
            }
            report.VersionsDeleted++;
            report.BytesFreed += v.Size;
        }
        if (locked > 0)
        {
            // The markers stay: removing them would make a locked old version current again, and the name live.
            report.NamesLocked++;
            return;
        }
        foreach (var marker in versions.Where(v => v.IsDeleteMarker))
        {
            await s3.DeleteVersionAsync(name, marker.VersionId, bypassGovernance: false, ct).ConfigureAwait(false);
            report.DeleteMarkersRemoved++;
        }
    }
}
