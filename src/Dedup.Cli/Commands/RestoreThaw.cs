using System.Text.Json.Serialization;
using Dedup.Archiver.Restore;
using Dedup.Cli.Cli;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

/// <summary>
/// 'restore --plan' and 'restore --retrieve-tier' with everything they must retrieve: archived tree packs first (spec
/// threat 39: a patched client can put them in an archive class), then the data packs, restoring files in waves as
/// their packs thaw (<see cref="ThawedRestore"/>).
/// </summary>
internal static class RestoreThaw
{
    /// <summary>--plan: the archived tree packs the walk met (if any), then the data packs it could see. Requests nothing.</summary>
    public static async Task SayPlanAsync(CliContext ctx, Repo repo, LoadedSnapshot snapshot, IReadOnlyList<string> includes, IReadOnlyList<string> excludes)
    {
        var archive = RetrievalOptions.ArchiveOf(ctx.OpenStorage(), "restore", "--plan");
        var needed = await NeededPacksWalk.RunAsync(repo, snapshot, includes, excludes, skipArchivedTrees: true, ctx.Cancellation).ConfigureAwait(false);
        if (needed.ArchivedTrees.Count > 0)
            SayTrees(ctx, snapshot, await Retrieval.PlanAsync(archive, needed.ArchivedTrees, ctx.S3.Connections, ctx.Cancellation).ConfigureAwait(false));
        RestoreRetrieval.SayPlan(ctx, snapshot, await Retrieval.PlanAsync(archive, needed.Data, ctx.S3.Connections, ctx.Cancellation).ConfigureAwait(false));
    }

    /// <summary>
    /// --retrieve-tier: retrieves the archived tree packs the walk meets and walks again, until it sees every file; then
    /// requests the archived data packs and restores in waves as they thaw. Each wave says what it restored and what waits.
    /// </summary>
    public static async Task<RestoreResult> RestoreAsync(CliContext ctx, Repo repo, LoadedSnapshot snapshot, RestoreOptions options,
        RetrievalTier tier, int days, Func<RestoreOptions, Task<RestoreResult>> restore)
    {
        var archive = RetrievalOptions.ArchiveOf(ctx.OpenStorage(), "restore");
        NeededPacks needed;
        int rounds = 0;
        // Each round makes at least one tree pack readable (for the requested days), so the walk sees deeper every time.
        while ((needed = await NeededPacksWalk.RunAsync(repo, snapshot, options.Includes, options.Excludes, skipArchivedTrees: true, ctx.Cancellation)
                   .ConfigureAwait(false)).ArchivedTrees.Count > 0)
        {
            // Trees nest at most this deep; more rounds mean retrieved copies expire before they are read (too few --retrieve-days).
            if (++rounds > Dedup.Format.Limits.MaxTreeDepth)
                throw new UsageException($"tree packs still archived after {rounds - 1} rounds of retrieval; run again with more --retrieve-days");
            var trees = await Retrieval.PlanAsync(archive, needed.ArchivedTrees, ctx.S3.Connections, ctx.Cancellation).ConfigureAwait(false);
            if (ctx.Json) ctx.WriteJson(TreePlan(snapshot, trees), CliJson.Default.RestoreTreePlanJson);
            else
                ctx.Say($"{trees.Packs.Count} tree pack(s) this restore must read are in an archive class (a backup host put them there; Dedup writes trees hot): "
                        + "retrieving them first, then the data packs of the files below them");
            await RestoreRetrieval.RetrieveAsync(ctx, trees, tier, days).ConfigureAwait(false);
        }
        var plan = await Retrieval.PlanAsync(archive, needed.Data, ctx.S3.Connections, ctx.Cancellation).ConfigureAwait(false);
        bool waits = plan.Unreadable.Count > 0;
        return await ThawedRestore.RunAsync(repo, snapshot.Domain, options, plan, RestoreRetrieval.ThawAsync(ctx, plan, tier, days), restore,
            report => { if (waits) SayWave(ctx, report); }, ctx.Cancellation).ConfigureAwait(false);
    }

    private static void SayWave(CliContext ctx, RestoreWaveReport w)
    {
        var r = w.Result;
        bool last = w.ReadablePacks >= w.TotalPacks;
        if (ctx.Json)
        {
            ctx.WriteJson(new RestoreWaveJson(w.Wave, w.ReadablePacks, w.TotalPacks, r.Files, r.Bytes, r.Deferred, last), CliJson.Default.RestoreWaveJson);
            return;
        }
        ctx.Say($"wave {w.Wave}: {(r.DryRun ? "would restore" : "restored")} {r.Files} file(s), {Text.Bytes(r.Bytes)}; "
                + (last ? "every pack is readable, directory metadata applied"
                        : $"{r.Deferred} file(s) wait for {w.TotalPacks - w.ReadablePacks} pack(s) still being retrieved"));
    }

    /// <summary>What --plan says of archived tree packs, before the data packs' plan (which cannot see below them).</summary>
    private static void SayTrees(CliContext ctx, LoadedSnapshot snapshot, RetrievalPlan trees)
    {
        if (ctx.Json)
        {
            ctx.WriteJson(TreePlan(snapshot, trees), CliJson.Default.RestoreTreePlanJson);
            return;
        }
        var unreadable = trees.Unreadable;
        ctx.Say($"trees: {trees.Packs.Count} tree pack(s) this restore must read are in an archive class (a backup host put them there; Dedup writes trees hot), "
                + $"{unreadable.Count} not readable now; the files below them are not in the data pack plan that follows");
        if (unreadable.Count == 0) return;
        RestoreRetrieval.SayPacksAndCosts(ctx, unreadable, RestoreRetrieval.Costs(unreadable));
        ctx.Say("--retrieve-tier retrieves these first, walks them, then retrieves the data packs below (each deeper level of archived trees is one more wait)");
    }

    private static RestoreTreePlanJson TreePlan(LoadedSnapshot snapshot, RetrievalPlan trees)
    {
        var unreadable = trees.Unreadable;
        return new RestoreTreePlanJson(snapshot.Id.ToString(), trees.Packs.Count, unreadable.Sum(p => p.State.Size), RestoreRetrieval.Costs(unreadable),
            RestoreRetrieval.Planned(unreadable));
    }
}

/// <summary>
/// 'restore --plan --json' and '--retrieve-tier --json' when tree packs are archived (spec threat 39): the tree packs the
/// walk could not read, their cost per tier. Comes before the data packs' plan, which cannot see below them.
/// </summary>
public sealed record RestoreTreePlanJson(string SnapshotId, int TreePacks, long BytesToRetrieve, IReadOnlyList<TierCost> Tiers, IReadOnlyList<PlannedPack> Unreadable)
{
    [JsonPropertyOrder(-1)] public string MessageType => "restore_tree_plan";
}

/// <summary>'restore --retrieve-tier --json': one line per wave of files restored as their packs thaw.</summary>
public sealed record RestoreWaveJson(int Wave, int ReadablePacks, int TotalPacks, long Files, long Bytes, long Deferred, bool Last)
{
    [JsonPropertyOrder(-1)] public string MessageType => "restore_wave";
}
