using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using Dedup.Cli.Cli;
using Dedup.Maintenance;
using Dedup.Maintenance.ObjectLock;
using Dedup.Maintenance.Prune;
using Dedup.Storage.S3;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

/// <summary>Prune's tuning; 'forget --prune' takes the same options (each verb gets its own option objects).</summary>
public sealed class PruneOptionSet
{
    public readonly Option<TimeSpan?> Grace = Opt.Duration("grace", "delete marked packs only after this long, e.g. 48h (default), 7d; 0 deletes at once (idle repository only)");
    public readonly Option<TimeSpan?> MaxBackupAge = Opt.Duration("max-backup-age", "a backup marker older than this, with no snapshot, is a dead backup (default 24h)");
    public readonly Option<UnusedBudget?> MaxUnused = new("--max-unused")
    {
        Description = "leave at most this much unused space: a share of the repository (5%, the default, as restic), a size (100M, 1GiB) or 'unlimited'; the emptiest packs are repacked first",
        HelpName = "LIMIT",
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            try
            {
                return UnusedBudget.Parse(text);
            }
            catch (ArgumentException e)
            {
                r.AddError($"--max-unused: {e.Message.TrimEnd('.')}");
                return null;
            }
        },
    };

    public readonly Option<long?> MaxRepackSize = Opt.Size("max-repack-size", "SIZE", "repack packs of at most this many bytes in one run (500M, 2G); the rest waits for the next run");

    public readonly Option<TimeSpan?> KeepDeleted = Opt.Duration("keep-deleted",
        "versioned S3 buckets: keep a deleted pack's old versions recoverable this long before removing them (default: the bucket's Object Lock retention period, else 30d)");

    public readonly Option<bool> IgnoreMinStorageDuration = Opt.Flag("ignore-min-storage-duration",
        "mark unused packs in GLACIER (90 days), DEEP_ARCHIVE (180), STANDARD_IA or GLACIER_IR (30) before their minimum storage duration has passed; AWS charges the rest of it anyway");

    public IEnumerable<Option> All => [Grace, MaxBackupAge, MaxUnused, MaxRepackSize, KeepDeleted, IgnoreMinStorageDuration];

    public PruneOptions Read(CliContext ctx, bool dryRun)
    {
        var options = new PruneOptions { DryRun = dryRun };
        if (ctx.Get(Grace) is { } grace) options = options with { Grace = grace };
        if (ctx.Get(MaxBackupAge) is { } age) options = options with { MaxBackupAge = age };
        if (ctx.Get(MaxUnused) is { } budget) options = options with { MaxUnused = budget };
        if (ctx.Get(MaxRepackSize) is { } cap) options = options with { MaxRepackSize = cap };
        if (ctx.Get(KeepDeleted) is { } keep) options = options with { KeepDeleted = keep };
        if (ctx.Get(IgnoreMinStorageDuration)) options = options with { IgnoreMinStorageDuration = true };
        return options;
    }
}

public sealed class PruneCommand : Verb
{
    private readonly PruneOptionSet _prune = new();
    private readonly Option<bool> _dryRun = Opt.Flag("dry-run", "print the plan, pack by pack: what would be repacked, marked and deleted, and why; change nothing", 'n');

    public PruneCommand() : base("prune", "Reclaim space: mark packs no snapshot needs, and delete packs marked longer ago than the grace period.", """
        Prune never takes a lock. It works in two phases, so backups may run at the same time: a run marks what is
        unused, and a later run deletes what was marked before the grace period began, unless a snapshot written
        since needs it. Run it regularly (for example daily) on the admin host; it needs credentials that can delete.
        Each run first makes a plan (see it with --dry-run): packs no snapshot uses are marked; packs partly unused are
        repacked, emptiest first, until at most --max-unused of the repository is unused space (pack headers are not
        unused); marks older than the grace period have their packs deleted. The plan says what it downloads and uploads.
        Cold storage (S3): packs archived in GLACIER or DEEP_ARCHIVE are never repacked, and unused packs in a class
        with a minimum storage duration are kept until it has passed (--ignore-min-storage-duration: not).
        Durations: 30s, 48h, 7d, 2w, 6m (months of 30 days), 1y, or combined as 1d12h.
        With --json, status lines ("message_type": "status") come first and the report is the last line.
        """)
    {
        foreach (var o in _prune.All) Add(o);
        Add(_dryRun);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var options = _prune.Read(ctx, ctx.Get(_dryRun));
        var storage = ctx.OpenStorage().Storage;
        if (!options.DryRun) await AdminAccess.RequireDeleteAsync(storage, ctx.Cancellation).ConfigureAwait(false);
        WarnIfNoGrace(ctx, options);
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        PruneReport report;
        using (ctx.Progress(t => new PruneStatus(t.TotalSeconds, "pruning"), CliJson.Default.PruneStatus,
                   s => $"{s.Phase}, {Text.Duration(TimeSpan.FromSeconds(s.SecondsElapsed))}"))
            report = await RunAsync(ctx, repo, options).ConfigureAwait(false);
        if (ctx.Json) ctx.WriteJson(PruneSummary.From(report, options), CliJson.Default.PruneSummary);
        else Print(ctx, report, options);
        return ExitCodes.Ok;
    }

    /// <summary>Printed once the credentials are known to be the admin's, so a refusal stays one line.</summary>
    public static void WarnIfNoGrace(CliContext ctx, PruneOptions options)
    {
        if (options.Grace == TimeSpan.Zero && !options.DryRun)
            ctx.Warn("warning: --grace 0 deletes marked packs at once; that is safe only if no backup is running against this repository");
    }

    public static async Task<PruneReport> RunAsync(CliContext ctx, Repo repo, PruneOptions options)
    {
        var report = await Pruner.RunAsync(repo, ctx.OpenStorage().Storage, options, ctx.Cancellation, ctx.OpenStorage().Archive).ConfigureAwait(false);
        // On a versioned bucket the deletes above only hid the packs: free them, and extend Object Lock (spec/object-lock.md).
        if (!options.DryRun && ctx.OpenStorage().S3 is { } s3
            && (await s3.GetProtectionAsync(ctx.Cancellation).ConfigureAwait(false)).Versioning is VersioningState.Enabled or VersioningState.Suspended)
            report.Versioned = await VersionedPrune.RunAsync(repo, s3, null, options.KeepDeleted, ctx.Cancellation).ConfigureAwait(false);
        return report;
    }

    private static string Grace(TimeSpan t) =>
        t == TimeSpan.Zero ? "none" : t.TotalHours % 24 == 0 ? $"{t.TotalDays:0}d" : $"{t.TotalHours.ToString("0.##", CultureInfo.InvariantCulture)}h";

    public static void Print(CliContext ctx, PruneReport r, PruneOptions o)
    {
        if (r.Plan is { } plan) PrintPlan(ctx, plan, table: o.DryRun);
        var would = o.DryRun ? "would be " : "";
        ctx.Say($"found:    {r.Snapshots} snapshots using {r.BlobsUsed} of {r.BlobsTotal} blobs; {r.PacksTotal} packs");
        ctx.Say($"unused:   {r.PacksUnused} packs unused, {r.PacksToRepack} to repack, {r.OrphanPacks} not in the index; {Text.Bytes(r.BytesUnused)} unused"
                + (r.BytesRepacked > 0 ? $", {Text.Bytes(r.BytesRepacked)} {would}repacked" : ""));
        if (o.DryRun && r.Plan is { } p)
        {
            ctx.Say($"marked:   {p.Count(PackAction.Mark) + p.Count(PackAction.Repack)} packs would be marked; {p.PacksToDelete} packs, {Text.Bytes(p.BytesToDelete)}, would be deleted"
                    + (p.Count(PackAction.Recover) > 0 ? $"; {p.Count(PackAction.Recover)} marked packs would be kept because newer snapshots need them" : "")
                    + " (dry run: nothing was written or deleted)");
        }
        else
        {
            ctx.Say($"marked:   {r.PacksMarked} packs, to be deleted by a prune after the grace period ({Grace(o.Grace)})");
            ctx.Say($"deleted:  {r.PacksDeleted} packs, {Text.Bytes(r.BytesFreed)} freed"
                    + (r.PacksRecovered > 0 ? $"; {r.PacksRecovered} marked packs kept because newer snapshots need them" : ""));
        }
        ctx.Say($"marks:    {r.MarksPending} pending, {r.MarksCompleted} completed");
        if (r.ArchivedPacksKept + r.PacksWaitingMinDuration > 0)
            ctx.Say($"cold:     {r.ArchivedPacksKept} partly used archived packs kept (never repacked), {r.PacksWaitingMinDuration} unused packs kept until their "
                    + "minimum storage duration has passed (the plan's reasons say until when; prune --dry-run lists them)");
        if (r.IndexFilesWritten + r.IndexFilesDeleted + r.MarkersRemoved + r.UploadsAborted > 0)
            ctx.Say($"tidied:   {r.IndexFilesWritten} index files written, {r.IndexFilesDeleted} replaced, {r.MarkersRemoved} stale backup markers removed, "
                    + $"{r.UploadsAborted} abandoned uploads aborted");
        // What trust left out: none of it keeps data, and each is named in a note or by 'dedup check'.
        if (r.SnapshotsIgnored + r.DanglingSnapshots + r.IndexFilesIgnored + r.ForeignClaimsIgnored + r.CopiesVerified > 0)
            ctx.Say($"trust:    {r.SnapshotsIgnored} snapshots ignored (unreadable or untrusted), {r.DanglingSnapshots} dangling, "
                    + $"{r.IndexFilesIgnored} index files ignored (untrusted signer), {r.ForeignClaimsIgnored} foreign claims ignored "
                    + $"(a pack claimed in another dedup domain than its header records), {r.CopiesVerified} writer copies verified");
        if (r.Versioned is { } v) PrintVersioned(ctx, v);
        foreach (var note in r.Notes) ctx.Say("note:     " + note);
    }

    private static void PrintVersioned(CliContext ctx, VersionedPruneReport v)
    {
        var s = v.Sweep;
        ctx.Say($"versions: {s.VersionsDeleted} old pack versions removed ({Text.Bytes(s.BytesFreed)} freed), {s.DeleteMarkersRemoved} delete markers removed"
                + (s.NamesLocked > 0 ? $"; {s.VersionsLocked} versions of {s.NamesLocked} deleted packs ({Text.Bytes(s.BytesLocked)}) locked until "
                                       + (s.LockedUntil is { } u ? Text.Iso(u) : "a date the server did not say") + ": a later prune removes them" : "")
                + (s.NamesRecent > 0 ? $"; {s.NamesRecent} packs ({Text.Bytes(s.BytesRecent)}) deleted recently stay recoverable until {Text.Iso(s.RecentUntil!.Value)} (--keep-deleted)" : ""));
        if (v.Retention is { } r && v.Target is { } t) RetentionCommands.Say(ctx, r, t, "retention");
    }

    /// <summary>The plan's totals; with <paramref name="table"/>, every pack it lists, one row each.</summary>
    public static void PrintPlan(CliContext ctx, PrunePlan p, bool table)
    {
        ctx.Say($"stored:   {p.PacksStored} packs, {Text.Bytes(p.BytesStored)}: {Text.Bytes(p.BytesUsed)} used, {Text.Bytes(p.BytesUnused)} unused, "
                + $"{Text.Bytes(p.BytesOverhead)} pack headers, {Text.Bytes(p.BytesMarked)} in marked packs, {Text.Bytes(p.BytesOrphaned)} in packs no index lists");
        ctx.Say($"budget:   --max-unused {p.Options.MaxUnused} allows {Text.Bytes(p.UnusedLimit)}; {Text.Bytes(p.BytesUnusedAfter)} unused would stay");
        ctx.Say($"plan:     repack {p.Count(PackAction.Repack)} packs ({Text.Bytes(p.BytesToRepack)} to copy), mark {p.Count(PackAction.Mark)} ({Text.Bytes(p.Bytes(PackAction.Mark))}), "
                + $"delete {p.PacksToDelete} ({Text.Bytes(p.BytesToDelete)}), recover {p.Count(PackAction.Recover)}, {p.Count(PackAction.Pending)} waiting for their grace period");
        ctx.Say($"transfer: {Text.Bytes(p.BytesToDownload)} to download, {Text.Bytes(p.BytesToUpload)} to upload");
        if (!table || p.Packs.Count == 0) return;
        var rows = new List<string[]> { new[] { "action", "pack", "size", "used", "unused", "reason" } };
        rows.AddRange(p.Packs.Select(x => new[]
        {
            ActionName(x), x.Pack.ToShortString(), Text.Bytes(x.Size), Text.Bytes(x.Used), Text.Bytes(x.Unused), x.Reason,
        }));
        foreach (var line in Text.Table(rows)) ctx.Say(line);
    }

    /// <summary>The action as printed: a pack marked and deleted in the same run (grace 0) says both.</summary>
    public static string ActionName(PackPlan p) =>
        p.Action.ToString().ToLowerInvariant() + (p.DeletedThisRun && p.Action != PackAction.Delete ? "+delete" : "");
}

/// <summary>Prune reports no counters while it runs: the status says it is alive and for how long.</summary>
public sealed record PruneStatus(double SecondsElapsed, string Phase)
{
    [JsonPropertyOrder(-1)] public string MessageType => "status";
}

public sealed record PruneSummary(
    bool DryRun, double GraceSeconds, int Snapshots, long BlobsUsed, long BlobsTotal, int PacksTotal, int PacksUnused, int PacksToRepack,
    int OrphanPacks, long BytesUnused, long BytesRepacked, int PacksMarked, int PacksDeleted, long BytesFreed, int PacksRecovered,
    int MarksPending, int MarksCompleted, int IndexFilesWritten, int IndexFilesDeleted, int MarkersRemoved, int UploadsAborted,
    int SnapshotsIgnored, int DanglingSnapshots, int IndexFilesIgnored, int ForeignClaimsIgnored, int CopiesVerified,
    IReadOnlyList<string> Notes, PrunePlanJson? Plan)
{
    [JsonPropertyOrder(-1)] public string MessageType => "prune";
    /// <summary>Partly used packs in an archive class, kept because repacking them would need a retrieval.</summary>
    public int ArchivedPacksKept { get; init; }
    /// <summary>Unused packs kept until their class's minimum storage duration has passed.</summary>
    public int PacksWaitingMinDuration { get; init; }

    /// <summary>Only on a versioned bucket.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public VersionsJson? Versions { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public RetentionExtendJson? Retention { get; init; }

    public static PruneSummary From(PruneReport r, PruneOptions o) => new(
        o.DryRun, o.Grace.TotalSeconds, r.Snapshots, r.BlobsUsed, r.BlobsTotal, r.PacksTotal, r.PacksUnused, r.PacksToRepack, r.OrphanPacks,
        r.BytesUnused, r.BytesRepacked, r.PacksMarked, r.PacksDeleted, r.BytesFreed, r.PacksRecovered, r.MarksPending, r.MarksCompleted,
        r.IndexFilesWritten, r.IndexFilesDeleted, r.MarkersRemoved, r.UploadsAborted,
        r.SnapshotsIgnored, r.DanglingSnapshots, r.IndexFilesIgnored, r.ForeignClaimsIgnored, r.CopiesVerified, r.Notes.ToList(),
        r.Plan is null ? null : PrunePlanJson.From(r.Plan))
    {
        Versions = r.Versioned is { Sweep: var s } ? VersionsJson.From(s) : null,
        Retention = r.Versioned is { Retention: { } x, Target: { } t } ? RetentionExtendJson.From(x, t) : null,
        ArchivedPacksKept = r.ArchivedPacksKept,
        PacksWaitingMinDuration = r.PacksWaitingMinDuration,
    };
}

/// <summary>The plan as --json prints it: totals, then one entry per pack it lists.</summary>
public sealed record PrunePlanJson(
    string MaxUnused, long? MaxRepackSize, int PacksStored, long BytesStored, long BytesUsed, long BytesUnused, long BytesUnusedAfter, long UnusedLimit,
    long BytesOverhead, long BytesMarked, long BytesOrphaned, long BytesToRepack, int PacksToDelete, long BytesToDelete, long BytesToDownload, long BytesToUpload,
    int MarksPending, int MarksExpired, IReadOnlyList<PackPlanJson> Packs)
{
    public static PrunePlanJson From(PrunePlan p) => new(
        p.Options.MaxUnused.ToString(), p.Options.MaxRepackSize, p.PacksStored, p.BytesStored, p.BytesUsed, p.BytesUnused, p.BytesUnusedAfter, p.UnusedLimit,
        p.BytesOverhead, p.BytesMarked, p.BytesOrphaned, p.BytesToRepack, p.PacksToDelete, p.BytesToDelete, p.BytesToDownload, p.BytesToUpload,
        p.MarksPending, p.MarksExpired,
        p.Packs.Select(x => new PackPlanJson(x.Pack.ToString(), x.Action.ToString().ToLowerInvariant(), x.Size, x.Used, x.Unused, x.DeletedThisRun, x.Reason)).ToList());
}

/// <summary>prune on a versioned bucket: old versions of deleted packs, removed or still locked.</summary>
public sealed record VersionsJson(int VersionsDeleted, long BytesFreed, int DeleteMarkersRemoved, int PacksLocked, int VersionsLocked, long BytesLocked,
    string? LockedUntil, int PacksKept, int PacksRecent, long BytesRecent, string? RecentUntil)
{
    public static VersionsJson From(VersionSweepReport s) => new(s.VersionsDeleted, s.BytesFreed, s.DeleteMarkersRemoved, s.NamesLocked, s.VersionsLocked,
        s.BytesLocked, s.LockedUntil is { } u ? Text.Iso(u) : null, s.NamesKept, s.NamesRecent, s.BytesRecent, s.RecentUntil is { } r ? Text.Iso(r) : null);
}

public sealed record PackPlanJson(string Pack, string Action, long Size, long Used, long Unused, bool DeletedThisRun, string Reason);
