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

    /// <summary>
    /// How much unused space may stay in the repository: packs are repacked, emptiest first, until the unused bytes
    /// left in unmarked packs are within this budget. 5 % by default, as restic's --max-unused.
    /// </summary>
    public UnusedBudget MaxUnused { get; init; } = UnusedBudget.Percent(5);

    /// <summary>The most stored bytes of packs one run repacks (null: no cap).</summary>
    public long? MaxRepackSize { get; init; }

    /// <summary>Packs repacked at once: each reads its used blobs while the others' are sealed and uploaded.</summary>
    public int RepackParallelism { get; init; } = 4;

    /// <summary>Packs per compacted index file.</summary>
    public int PacksPerIndexFile { get; init; } = 4096;

    public bool DryRun { get; init; }

    /// <summary>Told each phase of planning as it ends (the scale benchmark measures the heap there); null: not told.</summary>
    public IProgress<string>? Log { get; init; }

    /// <summary>
    /// Versioned buckets: how long a deleted pack's old versions stay recoverable before prune removes them (null: the
    /// bucket's retention period, or 30 days without one). See spec/object-lock.md.
    /// </summary>
    public TimeSpan? KeepDeleted { get; init; }

    /// <summary>
    /// Mark unused packs in a class with a minimum storage duration (GLACIER 90 d, DEEP_ARCHIVE 180 d, STANDARD_IA and
    /// GLACIER_IR 30 d) before that duration has passed. Deleting early saves nothing: AWS charges the rest anyway.
    /// </summary>
    public bool IgnoreMinStorageDuration { get; init; }

    /// <summary>
    /// A dry run only: plan as if these snapshots were already gone — the ones a dry-run <c>forget --prune</c> would
    /// remove — so that its plan shows what forgetting them would free. Empty otherwise.
    /// </summary>
    public IReadOnlySet<string> AssumeForgotten { get; init; } = new HashSet<string>();
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
    /// <summary>Partly used packs in an archive class, kept: repacking them would need a retrieval.</summary>
    public int ArchivedPacksKept { get; set; }
    /// <summary>Unused packs kept until their class's minimum storage duration has passed.</summary>
    public int PacksWaitingMinDuration { get; set; }
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
    /// <summary>The plan this run made (and, unless a dry run, executed).</summary>
    public PrunePlan? Plan { get; set; }
    /// <summary>On a versioned bucket: old versions removed or still locked, and retention extended (spec/object-lock.md).</summary>
    public ObjectLock.VersionedPruneReport? Versioned { get; set; }
}

/// <summary>
/// The unused space prune tolerates: a share of the repository (unused / (used + unused), as restic computes it),
/// or a size.
/// </summary>
public readonly record struct UnusedBudget(double? Percentage, long? Size)
{
    public static UnusedBudget Percent(double percent) => new(percent, null);
    public static UnusedBudget Bytes(long bytes) => new(null, bytes);

    /// <summary>The limit in bytes when <paramref name="used"/> bytes stay used.</summary>
    public long LimitFor(long used) => Size ?? (Percentage >= 100 ? long.MaxValue : (long)(Percentage!.Value / (100 - Percentage.Value) * used));

    public override string ToString() => Size is { } s ? s.ToString(System.Globalization.CultureInfo.InvariantCulture) + " bytes"
        : Percentage!.Value.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + "%";

    /// <summary>
    /// "5%", "0.5%", "unlimited", or a size ("100M", "100MiB", "2G", "1048576"). Throws <see cref="ArgumentException"/>
    /// with one line naming the text when it is none of these.
    /// </summary>
    public static UnusedBudget Parse(string text)
    {
        var t = text.Trim();
        if (t.Equals("unlimited", StringComparison.OrdinalIgnoreCase)) return Percent(100);
        if (t.EndsWith('%'))
        {
            if (double.TryParse(t[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var p) && p is >= 0 and <= 100)
                return Percent(p);
            throw new ArgumentException($"'{text}' is not a budget: a percentage takes a number from 0 to 100 (for example 5%).");
        }
        try
        {
            return Bytes(Archiver.Backup.ByteSize.Parse(t));
        }
        catch (ArgumentException)
        {
            throw new ArgumentException($"'{text}' is not a budget: give a percentage (5%), a size (100M, 100MiB, 2G) or 'unlimited'.");
        }
    }
}
