using Dedup.Format;
using Dedup.Repository.Index;
using Dedup.Storage.S3;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Maintenance.ObjectLock;

/// <summary>What prune adds on a versioned bucket: the sweep of deleted packs' old versions, and the retention extension.</summary>
public sealed record VersionedPruneReport(VersionSweepReport Sweep, RetentionReport? Retention, RetentionTarget? Target);

/// <summary>
/// The end of a prune on a versioned bucket (spec/object-lock.md). A delete there only hides a pack behind a delete
/// marker; this removes the old versions of packs that are gone and that the index no longer lists, once out of
/// retention, and reports the rest as locked until a date (a later prune finishes them: the bucket's versions are the
/// bookkeeping, nothing is forgotten). Then, with a default retention on the bucket, it extends every live object's
/// lock, except packs a pending mark lists (their deletion should not wait another period).
/// </summary>
public static class VersionedPrune
{
    /// <summary>On a versioned bucket without a default retention, deleted packs stay recoverable this long (as AWS's usual noncurrent-version lifecycle).</summary>
    public static readonly TimeSpan DefaultKeepDeleted = TimeSpan.FromDays(30);

    /// <param name="keepDeleted">How long a deleted pack's versions stay recoverable; null: the bucket's retention period, or
    /// <see cref="DefaultKeepDeleted"/> on a bucket without one.</param>
    public static async Task<VersionedPruneReport> RunAsync(Repo repo, S3Storage s3, TimeSpan? margin, TimeSpan? keepDeleted, CancellationToken ct)
    {
        BucketRetention? bucket;
        try
        {
            bucket = await s3.GetDefaultRetentionAsync(ct).ConfigureAwait(false);
        }
        catch (ObjectLockNotEnabledException)
        {
            bucket = null; // versioned without Object Lock: nothing to extend
        }

        // The index as it is now, after this run's compaction: a pack it lists stays, whatever its versions look like
        // (a listed pack that is not live is damage, and its old versions are what recovery reads).
        var marks = await repo.LoadMarksAsync(ct).ConfigureAwait(false);
        var marked = marks.SelectMany(m => m.Packs).ToHashSet();
        var view = new IndexTable();
        await repo.LoadIndexIntoAsync(view, marked, ct).ConfigureAwait(false);
        var sweep = await VersionSweeper.SweepAsync(s3, Layout.DataPrefix,
            name => Layout.TryParseId(name, out var pack) && !view.ContainsPack(pack) && !marked.Contains(pack),
            keepDeleted ?? bucket?.Period ?? DefaultKeepDeleted, repo.Clock, ct).ConfigureAwait(false);
        if (bucket is null) return new VersionedPruneReport(sweep, null, null);
        var target = new RetentionTarget(bucket.Mode, bucket.Period, margin ?? RetentionTarget.DefaultMargin);
        var markedNames = marked.Select(Layout.Pack).ToHashSet(StringComparer.Ordinal);
        var retention = await RetentionExtender.ExtendAsync(s3, target, repo.Clock, markedNames.Contains, ct: ct).ConfigureAwait(false);
        return new VersionedPruneReport(sweep, retention, target);
    }
}
