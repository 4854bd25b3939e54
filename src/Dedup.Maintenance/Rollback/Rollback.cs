using System.Runtime.CompilerServices;
using Dedup.Storage;

namespace Dedup.Maintenance.Rollback;

public enum RollbackKind
{
    /// <summary>Deleted since: the version of then is hidden behind a delete marker.</summary>
    Restore,

    /// <summary>Overwritten since: another version is current.</summary>
    Revert,

    /// <summary>Created since (absent then, present now): kept unless asked, then hidden behind a delete marker.</summary>
    Newer,
}

/// <summary>
/// What makes one name's current state what it was at the moment: <see cref="AsOf"/> is the version current then
/// (null: absent then), <see cref="Current"/> the one current now.
/// </summary>
public sealed record RollbackChange(string Name, RollbackKind Kind, StoredVersion? AsOf, StoredVersion Current, IReadOnlyList<StoredVersion> MarkersAbove)
{
    /// <summary>
    /// Only delete markers lie above the version of then: removing them brings that very version back, with its own
    /// LastModified (which the trust model reads). Otherwise a server-side copy of it goes on top.
    /// </summary>
    public bool RemovesDeleteMarkers => Kind == RollbackKind.Restore && MarkersAbove.Count > 0;
}

public sealed record RollbackOutcome(int Restored, int Reverted, int Newer, int NewerHidden);

/// <summary>
/// Puts a versioned store back to a past moment (spec/versioned-recovery.md, "Rollback"): per name, the change that
/// makes the current version the one of then. It adds versions and removes delete markers only; it never removes a
/// version with data, so a rollback is itself undone by another rollback.
/// </summary>
public static class VersionRollback
{
    /// <summary>The changes, streaming in name order; one name's versions in memory at a time. Reads only.</summary>
    public static async IAsyncEnumerable<RollbackChange> PlanAsync(IVersionedStorage store, string prefix, DateTimeOffset moment,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var versions in VersionsAsOf.ByName(store.ListVersionsAsync(prefix, ct)).WithCancellation(ct).ConfigureAwait(false))
        {
            if (Compare(versions, moment) is not { } change) continue;
            // A version copied back by an earlier rollback (or an overwrite with the same bytes) is a new version with
            // the old content: nothing to do. Listings carry no content hash the copy keeps (a multipart ETag is not
            // the copy's), so equal sizes are settled by reading both.
            if (change is { Kind: RollbackKind.Revert, AsOf: { } then } && then.Size == change.Current.Size
                && await SameBytesAsync(store, change.Name, then.VersionId, change.Current.VersionId, ct).ConfigureAwait(false)) continue;
            yield return change;
        }
    }

    private static async Task<bool> SameBytesAsync(IVersionedStorage store, string name, string a, string b, CancellationToken ct)
    {
        var left = await store.OpenReadVersionAsync(name, a, cancellationToken: ct).ConfigureAwait(false);
        await using (left.ConfigureAwait(false))
        {
            var right = await store.OpenReadVersionAsync(name, b, cancellationToken: ct).ConfigureAwait(false);
            await using (right.ConfigureAwait(false))
            {
                var x = new byte[81920];
                var y = new byte[81920];
                while (true)
                {
                    var n = await left.ReadAtLeastAsync(x, x.Length, throwOnEndOfStream: false, ct).ConfigureAwait(false);
                    var m = await right.ReadAtLeastAsync(y, y.Length, throwOnEndOfStream: false, ct).ConfigureAwait(false);
                    if (n != m || !x.AsSpan(0, n).SequenceEqual(y.AsSpan(0, m))) return false;
                    if (n < x.Length) return true;
                }
            }
        }
    }

    /// <summary>The change one name needs (its versions newest first), or null when it is as it was.</summary>
    public static RollbackChange? Compare(IReadOnlyList<StoredVersion> newestFirst, DateTimeOffset moment)
    {
        var current = newestFirst[0];
        var then = VersionsAsOf.CurrentAt(newestFirst, moment);
        if (then is { } t)
        {
            if (!current.IsDeleteMarker && current.VersionId == t.VersionId) return null;
            if (!current.IsDeleteMarker) return new RollbackChange(current.Name, RollbackKind.Revert, t, current, []);
            var above = newestFirst.TakeWhile(v => v.VersionId != t.VersionId).ToList();
            return new RollbackChange(current.Name, RollbackKind.Restore, t, current, above.All(v => v.IsDeleteMarker) ? above : []);
        }
        return current.IsDeleteMarker ? null : new RollbackChange(current.Name, RollbackKind.Newer, null, current, []);
    }

    /// <summary>Applies one change; a newer object is hidden only when <paramref name="hideNewer"/>. Returns whether it changed anything.</summary>
    public static async Task<bool> ApplyAsync(IVersionedStorage store, RollbackChange change, bool hideNewer, CancellationToken ct = default)
    {
        switch (change.Kind)
        {
            case RollbackKind.Newer:
                if (!hideNewer) return false;
                await store.AddDeleteMarkerAsync(change.Name, ct).ConfigureAwait(false);
                return true;
            case RollbackKind.Restore when change.RemovesDeleteMarkers:
                // Newest first, so the name is never briefly current as an older marker's "absent".
                foreach (var marker in change.MarkersAbove)
                    await store.DeleteVersionAsync(change.Name, marker.VersionId, ct).ConfigureAwait(false);
                return true;
            default:
                await store.CopyVersionToCurrentAsync(change.Name, change.AsOf!.Value.VersionId, ct).ConfigureAwait(false);
                return true;
        }
    }

    /// <summary>
    /// Plans and applies, streaming; <paramref name="parallel"/> changes are applied at once (each is one or a few
    /// requests on its own name, so their order does not matter). <paramref name="onChange"/> hears of each change, one
    /// at a time, after it was applied (unless a dry run); with more than one at once, not necessarily in name order.
    /// </summary>
    public static async Task<RollbackOutcome> RunAsync(IVersionedStorage store, string prefix, DateTimeOffset moment, bool dryRun, bool hideNewer,
        Action<RollbackChange> onChange, CancellationToken ct = default, int parallel = 1)
    {
        int restored = 0, reverted = 0, newer = 0, hidden = 0;
        var report = new Lock();
        var options = new ParallelOptions { MaxDegreeOfParallelism = dryRun ? 1 : Math.Max(1, parallel), CancellationToken = ct };
        await Parallel.ForEachAsync(PlanAsync(store, prefix, moment, ct), options, async (change, c) =>
        {
            if (!dryRun) await ApplyAsync(store, change, hideNewer, c).ConfigureAwait(false);
            lock (report)
            {
                switch (change.Kind)
                {
                    case RollbackKind.Restore: restored++; break;
                    case RollbackKind.Revert: reverted++; break;
                    default:
                        newer++;
                        if (hideNewer) hidden++;
                        break;
                }
                onChange(change);
            }
        }).ConfigureAwait(false);
        return new RollbackOutcome(restored, reverted, newer, hidden);
    }
}
