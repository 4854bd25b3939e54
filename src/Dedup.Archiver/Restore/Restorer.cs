using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Restore;

/// <summary>Restores a snapshot (or part of it) into a target directory.</summary>
public static class Restorer
{
    public static Task<RestoreResult> RunAsync(Repo repo, LoadedSnapshot snapshot, RestoreOptions options, RestoreProgress progress, CancellationToken ct = default)
        => throw new NotImplementedException("being written by the lead");
}
