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
/// A value, not an object, and its reason a sentence shared by the plan's rows, formatted only when read: a plan lists
/// hundreds of thousands of packs at 10M blobs (docs/performance.md, "Scale").
/// </summary>
public readonly record struct PackPlan(ObjectId Pack, PackAction Action, long Size, long Used, long Unused, bool DeletedThisRun, PackReason Why)
{
    /// <summary>Why, as printed: the pack's unused share first where the sentence needs it, then the shared sentence.</summary>
    public string Reason => Why.Format(this);
}

/// <summary>
/// The reason a pack gets its <see cref="PackAction"/>: a sentence that many rows share (one object per plan, not one
/// string per pack), optionally led by the row's own unused share ("33.3% unused; ..."). A pack marked and deleted in the
/// same run (grace 0) says so at the end.
/// </summary>
public sealed class PackReason
{
    private readonly string _text;
    private readonly bool _ledByShare;

    private PackReason(string text, bool ledByShare)
    {
        _text = text;
        _ledByShare = ledByShare;
    }

    /// <summary>A sentence that is the whole reason.</summary>
    public static PackReason Of(string text) => new(text, false);

    /// <summary>A sentence printed after the row's unused share: <c>Unused / Size</c> as "12.5% unused", then <paramref name="rest"/>.</summary>
    public static PackReason AfterShare(string rest) => new(rest, true);

    public string Format(in PackPlan row)
    {
        var text = _ledByShare ? $"{100.0 * row.Unused / row.Size:0.#}% unused{_text}" : _text;
        return row.DeletedThisRun && row.Action != PackAction.Delete ? text + "; deleted at once (grace 0)" : text;
    }

    public override string ToString() => _text;
}

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

    /// <summary>Packs the plan lists with this action, and their stored bytes.</summary>
    public int Count(PackAction action) => Packs.Count(p => p.Action == action);
    public long Bytes(PackAction action) => Packs.Where(p => p.Action == action).Sum(p => p.Size);

    // What the executor needs and the printout does not.
    internal PruneReport Report { get; init; } = null!;
    internal UsedBlobs Used { get; init; } = null!;
    internal ClaimsByPack Claims { get; init; } = null!;
    internal HashSet<int> ForeignClaims { get; init; } = null!;
    internal List<BackupMarker> Markers { get; init; } = null!;
    internal HashSet<ObjectId> FinishedMarkers { get; init; } = null!;
    internal List<PruneMark> ExpiredMarks { get; init; } = null!;
    internal CopyVerifier Verifier { get; init; } = null!;
}
