using Dedup.Storage;

namespace Dedup.Maintenance;

/// <summary>
/// Verbs that delete (forget, prune, repair) ask the store first whether these credentials may delete at all, so
/// that backup-host credentials are refused before anything is written: prune, for one, writes its mark and repacked
/// packs before its first delete, and would otherwise leave them behind.
/// </summary>
public static class AdminAccess
{
    /// <summary>
    /// Never a repository object. Deleting an absent object is a no-op that S3 still authorises (403 without
    /// DeleteObject); on a versioned bucket it leaves only an invisible delete marker for this one name.
    /// </summary>
    public const string ProbeName = "delete-permission-probe";

    public static Task RequireDeleteAsync(IMaintenanceStorage storage, CancellationToken ct) => storage.DeleteAsync(ProbeName, ct);
}
