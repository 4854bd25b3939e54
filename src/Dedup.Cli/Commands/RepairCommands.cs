using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Cli.Cli;
using Dedup.Maintenance;

namespace Dedup.Cli.Commands;

public static class RepairCommands
{
    public static VerbGroup Create() => new("repair", "Recover from damage: rebuild the index from the packs, or save snapshots without their lost files.",
        "Run 'repair index' first, then 'repair snapshots'. Both need a full key and credentials that can delete.",
        new RepairIndexCommand(), new RepairSnapshotsCommand());
}

public sealed class RepairIndexCommand : Verb
{
    private readonly Option<bool> _readData = Opt.Flag("read-data", "read every pack whole and leave damaged blobs out of the index");

    public RepairIndexCommand() : base("index", "Rebuild the index from the packs that are really stored.", """
        Reads every pack's header and writes a new index of what is really stored, replacing the old index files;
        entries for missing or damaged packs disappear, so backups store that data again. With --read-data it also
        opens every blob and leaves damaged ones out (for a pack whose header is fine but whose data was corrupted).
        """)
    {
        Add(_readData);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var storage = ctx.OpenStorage().Storage;
        await AdminAccess.RequireDeleteAsync(storage, ctx.Cancellation).ConfigureAwait(false);
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        RepairIndexResult r;
        using (ctx.TerminalProgress(t => $"reading pack headers, {Text.Duration(t)}"))
            r = await Repair.RebuildIndexAsync(repo, storage, ctx.Cancellation, ctx.Get(_readData)).ConfigureAwait(false);
        foreach (var d in r.DamagedPacks) ctx.Warn($"damaged pack left out of the index: {d}");
        if (ctx.Json)
        {
            ctx.WriteJson(new RepairIndexReport(r.PacksIndexed, r.DamagedPacks, r.IndexFilesWritten, r.IndexFilesDeleted), CliJson.Default.RepairIndexReport);
        }
        else
        {
            ctx.Say($"indexed {r.PacksIndexed} packs into {r.IndexFilesWritten} index files, replacing {r.IndexFilesDeleted}"
                    + (r.DamagedPacks.Count > 0 ? $"; {r.DamagedPacks.Count} damaged packs left out (run 'dedup repair snapshots')" : ""));
        }
        return ExitCodes.Ok;
    }
}

public sealed class RepairSnapshotsCommand : Verb
{
    private readonly Option<bool> _forget = Opt.Flag("forget", "remove each damaged original once its repaired copy is saved");
    private readonly Option<bool> _dryRun = Opt.Flag("dry-run", "only list what would be lost", 'n');

    public RepairSnapshotsCommand() : base("snapshots", "Save snapshots that refer to missing data again, without the lost files.", """
        For each snapshot that refers to missing data, saves a copy without the affected files (tagged 'repaired',
        marked incomplete) and lists what was lost; --forget also removes the originals.
        """)
    {
        Add(_forget);
        Add(_dryRun);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        bool dryRun = ctx.Get(_dryRun), forget = ctx.Get(_forget);
        var storage = ctx.OpenStorage().Storage;
        if (!dryRun && forget) await AdminAccess.RequireDeleteAsync(storage, ctx.Cancellation).ConfigureAwait(false);
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        List<RepairedSnapshot> repaired;
        using (ctx.TerminalProgress(t => $"checking snapshots, {Text.Duration(t)}"))
            repaired = await Repair.RepairSnapshotsAsync(repo, storage, forget, dryRun, ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Json)
        {
            ctx.WriteJson(new RepairSnapshotsReport(dryRun,
                repaired.Select(r => new RepairedSnapshotJson(r.Original, r.Replacement, forget && !dryRun, r.LostPaths)).ToList()), CliJson.Default.RepairSnapshotsReport);
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

public sealed record RepairIndexReport(int PacksIndexed, IReadOnlyList<string> DamagedPacks, int IndexFilesWritten, int IndexFilesDeleted)
{
    [JsonPropertyOrder(-1)] public string MessageType => "repair_index";
}

public sealed record RepairedSnapshotJson(string Original, string? Replacement, bool OriginalRemoved, IReadOnlyList<string> Lost);

public sealed record RepairSnapshotsReport(bool DryRun, IReadOnlyList<RepairedSnapshotJson> Snapshots)
{
    [JsonPropertyOrder(-1)] public string MessageType => "repair_snapshots";
}
