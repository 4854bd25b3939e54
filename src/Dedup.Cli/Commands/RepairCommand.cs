using System.Text.Json.Nodes;
using Dedup.Cli.Cli;
using Dedup.Maintenance;

namespace Dedup.Cli.Commands;

public static class RepairCommand
{
    public static readonly Verb Verb = new("repair", "index [--read-data] | snapshots [--forget] [--dry-run]",
        "Recover from damage: rebuild the index from the packs, or save snapshots without their lost files.",
        """
        index      reads every pack's header and writes a new index of what is really stored, replacing the old
                   index files; entries for missing or damaged packs disappear, so backups store that data again;
                   with --read-data it also opens every blob and leaves damaged ones out (for a pack whose header
                   is fine but whose data was corrupted)
        snapshots  for each snapshot that refers to missing data, saves a copy without the affected files (tagged
                   'repaired', marked incomplete) and lists what was lost; --forget also removes the originals
        Run 'repair index' first, then 'repair snapshots'. Both need a full key and credentials that can delete.
        """,
        [
            new("read-data", null, null, "index: read every pack whole and leave damaged blobs out of the index"),
            new("forget", null, null, "snapshots: remove each damaged original once its repaired copy is saved"),
            new("dry-run", 'n', null, "snapshots: only list what would be lost"),
        ],
        1, 1, RunAsync);

    private static Task<int> RunAsync(CliContext ctx) => ctx.Args.Positionals[0] switch
    {
        "index" => IndexAsync(ctx),
        "snapshots" => SnapshotsAsync(ctx),
        var other => throw new UsageException($"unknown repair command '{other}': use index or snapshots"),
    };

    private static async Task<int> IndexAsync(CliContext ctx)
    {
        if (ctx.Args.Has("forget") || ctx.Args.Has("dry-run")) throw new UsageException("--forget and --dry-run go with 'repair snapshots'");
        var storage = ctx.OpenStorage().Storage;
        await AdminAccess.RequireDeleteAsync(storage, ctx.Cancellation).ConfigureAwait(false);
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        RepairIndexResult r;
        using (new ProgressLine(ctx, t => $"reading pack headers, {Text.Duration(t)}"))
            r = await Repair.RebuildIndexAsync(repo, storage, ctx.Cancellation, ctx.Args.Has("read-data")).ConfigureAwait(false);
        foreach (var d in r.DamagedPacks) ctx.Warn($"damaged pack left out of the index: {d}");
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonObject
            {
                ["message_type"] = "repair_index", ["packs_indexed"] = r.PacksIndexed,
                ["damaged_packs"] = new JsonArray(r.DamagedPacks.Select(d => (JsonNode?)d).ToArray()),
                ["index_files_written"] = r.IndexFilesWritten, ["index_files_deleted"] = r.IndexFilesDeleted,
            });
        }
        else
        {
            ctx.Say($"indexed {r.PacksIndexed} packs into {r.IndexFilesWritten} index files, replacing {r.IndexFilesDeleted}"
                    + (r.DamagedPacks.Count > 0 ? $"; {r.DamagedPacks.Count} damaged packs left out (run 'dedup repair snapshots')" : ""));
        }
        return ExitCodes.Ok;
    }

    private static async Task<int> SnapshotsAsync(CliContext ctx)
    {
        bool dryRun = ctx.Args.Has("dry-run"), forget = ctx.Args.Has("forget");
        var storage = ctx.OpenStorage().Storage;
        if (!dryRun && forget) await AdminAccess.RequireDeleteAsync(storage, ctx.Cancellation).ConfigureAwait(false);
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        List<RepairedSnapshot> repaired;
        using (new ProgressLine(ctx, t => $"checking snapshots, {Text.Duration(t)}"))
            repaired = await Repair.RepairSnapshotsAsync(repo, storage, forget, dryRun, ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonObject
            {
                ["message_type"] = "repair_snapshots", ["dry_run"] = dryRun,
                ["snapshots"] = new JsonArray(repaired.Select(r => (JsonNode)new JsonObject
                {
                    ["original"] = r.Original, ["replacement"] = r.Replacement, ["original_removed"] = forget && !dryRun,
                    ["lost"] = new JsonArray(r.LostPaths.Select(p => (JsonNode?)p).ToArray()),
                }).ToArray()),
            });
            return ExitCodes.Ok;
        }
        foreach (var r in repaired)
        {
            var what = dryRun ? "would be saved without" : $"saved as {r.Replacement![..8]}{(forget ? " (original removed)" : "")}, without";
            ctx.Say($"snapshot {r.Original[..8]} {what} {r.LostPaths.Count} lost path(s):");
            foreach (var p in r.LostPaths) ctx.Say("  " + p);
        }
        ctx.Say(repaired.Count == 0 ? "no snapshot refers to missing data"
            : dryRun ? $"{repaired.Count} snapshot(s) refer to missing data (dry run: nothing was changed)"
            : $"{repaired.Count} snapshot(s) repaired");
        return ExitCodes.Ok;
    }
}
