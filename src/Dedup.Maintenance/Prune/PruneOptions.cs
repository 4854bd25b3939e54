namespace Dedup.Maintenance.Prune;

/// <summary>
/// The safety margins of prune, named and explicit (as kopia's maintenance_safety.go does). See spec "Prune".
/// </summary>
public sealed record PruneOptions
{
    /// <summary>
    /// How long a mark must age before its packs are deleted. Longer than any reasonable backup, so that a backup
    /// that read the index before the mark was written has finished. Zero deletes at once: only for an idle repository.
    /// </summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromHours(48);

    /// <summary>A backup marker older than this with no snapshot naming it is taken to be a dead (killed) backup.</summary>
    public TimeSpan MaxBackupAge { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Repack a pack when at least this fraction of its bytes is unused.</summary>
    public double RepackUnusedFraction { get; init; } = 0.5;

    /// <summary>Packs per compacted index file.</summary>
    public int PacksPerIndexFile { get; init; } = 4096;

    public bool DryRun { get; init; }
}

/// <summary>What prune found and did. Sizes are stored (compressed, encrypted) bytes.</summary>
public sealed class PruneReport
{
    public int Snapshots { get; set; }
    public long BlobsUsed { get; set; }
    public long BlobsTotal { get; set; }
    public int PacksTotal { get; set; }
    public int PacksUnused { get; set; }
    public int PacksToRepack { get; set; }
    public int OrphanPacks { get; set; }
    public long BytesUnused { get; set; }
    public long BytesRepacked { get; set; }
    public int PacksRepacked { get; set; }
    public int PacksMarked { get; set; }
    public int PacksDeleted { get; set; }
    public long BytesFreed { get; set; }
    /// <summary>Marked packs that a snapshot written since the mark needs, kept and unmarked.</summary>
    public int PacksRecovered { get; set; }
    public int MarksPending { get; set; }
    public int MarksCompleted { get; set; }
    public int IndexFilesWritten { get; set; }
    public int IndexFilesDeleted { get; set; }
    public int MarkersRemoved { get; set; }
    public int UploadsAborted { get; set; }
    /// <summary>Snapshots left out because they cannot be read or are not trusted: they keep nothing.</summary>
    public int SnapshotsIgnored { get; set; }
    /// <summary>Trusted snapshots that refer to something their domain does not hold; what they reach is kept.</summary>
    public int DanglingSnapshots { get; set; }
    /// <summary>Index files whose signer is not trusted for their domain: their claims count for nothing.</summary>
    public int IndexFilesIgnored { get; set; }
    /// <summary>Claims that put a pack in another domain than its header records: they keep nothing.</summary>
    public int ForeignClaimsIgnored { get; set; }
    /// <summary>Writer-claimed copies read and verified before another copy was deleted.</summary>
    public int CopiesVerified { get; set; }
    public List<string> Notes { get; } = [];
}
