using Dedup.Format;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Snapshots;

namespace Dedup.Maintenance.Prune;

/// <summary>What a prune run does to one pack.</summary>
public enum PackAction
{
    /// <summary>Stays as it is (listed in the plan only when part of it is unused, with the reason it stays).</summary>
    Keep,
    /// <summary>Its used blobs are copied into new packs, then it is marked (and, with grace 0, deleted).</summary>
    Repack,
    /// <summary>Listed in this run's mark: no trusted snapshot uses it, or no index lists it (and, with grace 0, deleted).</summary>
    Mark,
    /// <summary>Listed by a mark that has not expired yet, or that a running backup still blocks.</summary>
    Pending,
    /// <summary>Listed by an expired mark and needed by nothing: deleted in this run.</summary>
    Delete,
    /// <summary>Listed by an expired mark, but a snapshot written since needs it: kept, and unmarked when the mark goes.</summary>
    Recover,
}

/// <summary>
/// One pack's fate. Sizes are stored bytes. <paramref name="Unused"/> counts the bytes of blobs no trusted snapshot uses;
/// the pack's header and trailer are overhead, not unused (every pack has them, and repacking cannot remove them).
/// </summary>
public sealed record PackPlan(ObjectId Pack, PackAction Action, long Size, long Used, long Unused, bool DeletedThisRun, string Reason);

/// <summary>
/// Prune's decisions, made before anything is written (rustic's prune plan is the model): for every pack that changes,
/// or that stays with unused space, what happens and why; totals; and what the run costs on the wire. The executor
/// (<see cref="Pruner.ExecuteAsync"/>) carries it out and never deletes a pack the plan does not list as deleted;
/// it may keep more (a repack whose blob does not open, a pack a backup finished since the plan needs).
/// </summary>
public sealed class PrunePlan
{
    public required DateTimeOffset PlannedAt { get; init; }
    public required PruneOptions Options { get; init; }
    public required IReadOnlyList<PackPlan> Packs { get; init; }

    /// <summary>Packs in data/ when the plan was made, and their bytes.</summary>
    public int PacksStored { get; init; }
    public long BytesStored { get; init; }
    /// <summary>Bytes of blobs trusted snapshots use, in packs no mark lists.</summary>
    public long BytesUsed { get; init; }
    /// <summary>Unused bytes in indexed packs no mark lists, before this run: packs no snapshot uses (whole), and the unused blobs of partly used ones.</summary>
    public long BytesUnused { get; init; }
    /// <summary>Unused bytes that stay in unmarked packs after this run: what the budget limits.</summary>
    public long BytesUnusedAfter { get; init; }
    /// <summary>The budget in bytes (from --max-unused), against the used bytes that stay.</summary>
    public long UnusedLimit { get; init; }
    /// <summary>Headers and trailers of the packs no mark lists: not unused, and not counted against the budget.</summary>
    public long BytesOverhead { get; init; }
    /// <summary>Bytes in packs that marks already list (deleted once their mark expires, unless needed).</summary>
    public long BytesMarked { get; init; }
    /// <summary>Bytes in orphan packs (no index lists them).</summary>
    public long BytesOrphaned { get; init; }
    /// <summary>Used bytes the repack copies: read from the packs, and written again into new ones.</summary>
    public long BytesToRepack { get; init; }
    /// <summary>Bytes of the packs this run deletes, and how many.</summary>
    public long BytesToDelete { get; init; }
    public int PacksToDelete { get; init; }
    /// <summary>Pack bytes this run reads (repacked blobs, headers of packs claimed in several domains, writer copies verified).</summary>
    public long BytesToDownload { get; init; }
    /// <summary>Bytes this run writes: repacked blobs with their new packs' overhead, and the compacted index when anything is deleted.</summary>
    public long BytesToUpload { get; init; }
    public int MarksPending { get; init; }
    public int MarksExpired { get; init; }

    public int Count(PackAction action) => Packs.Count(p => p.Action == action);
    public long Bytes(PackAction action) => Packs.Where(p => p.Action == action).Sum(p => p.Size);

    // What the executor needs and the printout does not.
    internal PruneReport Report { get; init; } = null!;
    internal UsedBlobs Used { get; init; } = null!;
    internal Dictionary<ObjectId, List<int>> Claims { get; init; } = null!;
    internal HashSet<int> ForeignClaims { get; init; } = null!;
    internal List<BackupMarker> Markers { get; init; } = null!;
    internal HashSet<ObjectId> FinishedMarkers { get; init; } = null!;
    internal List<PruneMark> ExpiredMarks { get; init; } = null!;
    internal CopyVerifier Verifier { get; init; } = null!;
}
