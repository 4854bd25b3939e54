using Dedup.Repository.Snapshots;

namespace Dedup.Mount;

/// <summary>
/// Which snapshots the mount shows, and under which time. One place for both, because the trust rules are changing:
/// swap these two functions and the whole layout follows.
/// </summary>
public static class SnapshotVisibility
{
    /// <summary>Untrusted snapshots (a bad signature, a writer key revoked before it stored them, a host or domain it was not certified for) are never shown.</summary>
    public static bool MayShow(LoadedSnapshot snapshot) => snapshot.IsTrusted;

    /// <summary>
    /// The time a snapshot is listed and ordered by (and which one is "latest"): the storage-corrected effective time,
    /// so a writer's future- or back-dated snapshot can never become "latest" or hide among old ones.
    /// </summary>
    public static DateTimeOffset TimeOf(LoadedSnapshot snapshot) => snapshot.EffectiveTime;
}
