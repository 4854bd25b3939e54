using System.Globalization;
using System.Text.Json.Nodes;
using Dedup.Cli.Cli;
using Dedup.Maintenance;
using Dedup.Maintenance.Prune;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

public static class PruneCommand
{
    /// <summary>Prune's flags; 'forget --prune' accepts them too (with forget's own --dry-run).</summary>
    public static readonly OptionSpec[] PruneOptionSpecs =
    [
        new("grace", null, "DURATION", "delete marked packs only after this long, e.g. 48h (default), 7d; 0 deletes at once (idle repository only)"),
        new("max-backup-age", null, "DURATION", "a backup marker older than this, with no snapshot, is a dead backup (default 24h)"),
        new("repack-threshold", null, "PERCENT", "repack packs with at least this much unused (default 50)"),
    ];

    public static readonly Verb Verb = new("prune", "[--grace DURATION] [--dry-run]",
        "Reclaim space: mark packs no snapshot needs, and delete packs marked longer ago than the grace period.",
        """
        Prune never takes a lock. It works in two phases, so backups may run at the same time: a run marks what is
        unused, and a later run deletes what was marked before the grace period began, unless a snapshot written
        since needs it. Run it regularly (for example daily) on the admin host; it needs credentials that can delete.
        Durations: 30s, 48h, 7d, 2w, 6m (months of 30 days), 1y, or combined as 1d12h.
        """,
        [.. PruneOptionSpecs, new("dry-run", 'n', null, "only report what would be marked and deleted")],
        0, 0, RunAsync);

    private static async Task<int> RunAsync(CliContext ctx)
    {
        var options = Options(ctx);
        var storage = ctx.OpenStorage().Storage;
        if (!options.DryRun) await AdminAccess.RequireDeleteAsync(storage, ctx.Cancellation).ConfigureAwait(false);
        WarnIfNoGrace(ctx, options);
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        var report = await RunAsync(ctx, repo, options).ConfigureAwait(false);
        if (ctx.Json) ctx.WriteJson(ToJson(report, options));
        else Print(ctx, report, options);
        return ExitCodes.Ok;
    }

    public static PruneOptions Options(CliContext ctx)
    {
        var a = ctx.Args;
        var options = new PruneOptions { DryRun = a.Has("dry-run") };
        if (a.Get("grace") is { } grace) options = options with { Grace = Duration("grace", grace) };
        if (a.Get("max-backup-age") is { } age) options = options with { MaxBackupAge = Duration("max-backup-age", age) };
        if (a.Get("repack-threshold") is { } text)
        {
            if (!double.TryParse(text.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var percent) || percent is <= 0 or > 100)
                throw new UsageException($"--repack-threshold takes a percentage above 0 and up to 100, not '{text}'");
            options = options with { RepackUnusedFraction = percent / 100 };
        }
        return options;
    }

    /// <summary>Printed once the credentials are known to be the admin's, so a refusal stays one line.</summary>
    public static void WarnIfNoGrace(CliContext ctx, PruneOptions options)
    {
        if (options.Grace == TimeSpan.Zero && !options.DryRun)
            ctx.Warn("warning: --grace 0 deletes marked packs at once; that is safe only if no backup is running against this repository");
    }

    public static TimeSpan Duration(string option, string text)
    {
        try
        {
            return RetentionPolicy.ParseDuration(text);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new UsageException($"--{option}: {e.Message}");
        }
    }

    public static async Task<PruneReport> RunAsync(CliContext ctx, Repo repo, PruneOptions options)
    {
        using (new ProgressLine(ctx, t => $"pruning, {Text.Duration(t)}"))
            return await Pruner.RunAsync(repo, ctx.OpenStorage().Storage, options, ctx.Cancellation).ConfigureAwait(false);
    }

    public static JsonObject ToJson(PruneReport r, PruneOptions o) => new()
    {
        ["message_type"] = "prune",
        ["dry_run"] = o.DryRun,
        ["grace_seconds"] = o.Grace.TotalSeconds,
        ["snapshots"] = r.Snapshots,
        ["blobs_used"] = r.BlobsUsed, ["blobs_total"] = r.BlobsTotal,
        ["packs_total"] = r.PacksTotal, ["packs_unused"] = r.PacksUnused, ["packs_to_repack"] = r.PacksToRepack, ["orphan_packs"] = r.OrphanPacks,
        ["bytes_unused"] = r.BytesUnused, ["bytes_repacked"] = r.BytesRepacked,
        ["packs_marked"] = r.PacksMarked, ["packs_deleted"] = r.PacksDeleted, ["bytes_freed"] = r.BytesFreed,
        ["packs_recovered"] = r.PacksRecovered, ["marks_pending"] = r.MarksPending, ["marks_completed"] = r.MarksCompleted,
        ["index_files_written"] = r.IndexFilesWritten, ["index_files_deleted"] = r.IndexFilesDeleted,
        ["markers_removed"] = r.MarkersRemoved, ["uploads_aborted"] = r.UploadsAborted,
        ["notes"] = new JsonArray(r.Notes.Select(n => (JsonNode?)n).ToArray()),
    };

    private static string Grace(TimeSpan t) =>
        t == TimeSpan.Zero ? "none" : t.TotalHours % 24 == 0 ? $"{t.TotalDays:0}d" : $"{t.TotalHours.ToString("0.##", CultureInfo.InvariantCulture)}h";

    public static void Print(CliContext ctx, PruneReport r, PruneOptions o)
    {
        var would = o.DryRun ? "would be " : "";
        ctx.Say($"found:    {r.Snapshots} snapshots using {r.BlobsUsed} of {r.BlobsTotal} blobs; {r.PacksTotal} packs");
        ctx.Say($"unused:   {r.PacksUnused} packs unused, {r.PacksToRepack} to repack, {r.OrphanPacks} not in the index; {Text.Bytes(r.BytesUnused)} unused"
                + (r.BytesRepacked > 0 ? $", {Text.Bytes(r.BytesRepacked)} {would}repacked" : ""));
        if (o.DryRun)
        {
            ctx.Say($"marked:   {r.PacksUnused + r.PacksToRepack + r.OrphanPacks} packs would be marked (dry run: nothing was written or deleted)");
        }
        else
        {
            ctx.Say($"marked:   {r.PacksMarked} packs, to be deleted by a prune after the grace period ({Grace(o.Grace)})");
            ctx.Say($"deleted:  {r.PacksDeleted} packs, {Text.Bytes(r.BytesFreed)} freed"
                    + (r.PacksRecovered > 0 ? $"; {r.PacksRecovered} marked packs kept because newer snapshots need them" : ""));
        }
        ctx.Say($"marks:    {r.MarksPending} pending, {r.MarksCompleted} completed");
        if (r.IndexFilesWritten + r.IndexFilesDeleted + r.MarkersRemoved + r.UploadsAborted > 0)
            ctx.Say($"tidied:   {r.IndexFilesWritten} index files written, {r.IndexFilesDeleted} replaced, {r.MarkersRemoved} stale backup markers removed, "
                    + $"{r.UploadsAborted} abandoned uploads aborted");
        foreach (var note in r.Notes) ctx.Say("note:     " + note);
    }
}
