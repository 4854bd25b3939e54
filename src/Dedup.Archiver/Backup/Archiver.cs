using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Backup;

/// <summary>Backs up paths or a stream into a snapshot: walk → chunk → hash → dedup → pack → storage.</summary>
public static partial class Archiver
{
    public static Task<BackupResult> RunAsync(Repo repo, BackupOptions options, BackupProgress progress, CancellationToken ct = default)
        => throw new NotImplementedException("being written by the lead");
}
