using System.Globalization;
using System.Text.Json.Serialization;
using Dedup.Archiver.Restore;
using Dedup.Cli.Cli;
using Dedup.Repository.Snapshots;
using Dedup.Storage;

namespace Dedup.Cli.Commands;

/// <summary>'restore --plan' and '--retrieve-tier': the archived packs a restore needs, their cost, their retrieval.</summary>
internal static class RestoreRetrieval
{
    public static RetrievalTier ParseTier(string name) => name switch
    {
        "expedited" => RetrievalTier.Expedited,
        "bulk" => RetrievalTier.Bulk,
        _ => RetrievalTier.Standard,
    };

    /// <summary>What --plan prints: the counts, the archived packs, and the cost per tier. Nothing is requested.</summary>
    public static void SayPlan(CliContext ctx, LoadedSnapshot snapshot, RetrievalPlan plan)
    {
        var unreadable = plan.Unreadable;
        var costs = Costs(unreadable);
        if (ctx.Json)
        {
            ctx.WriteJson(new RestorePlanJson(snapshot.Id.ToString(), plan.Packs.Count, plan.Packs.Sum(p => p.State.Size),
                plan.Packs.Count(p => p.State.Status == ArchiveStatus.Archived), plan.Packs.Count(p => p.State.Status == ArchiveStatus.Restoring),
                plan.Packs.Count(p => p.State.Readable), unreadable.Sum(p => p.State.Size), costs,
                Planned(unreadable)), CliJson.Default.RestorePlanJson);
            return;
        }
        ctx.Say($"restoring snapshot {snapshot.Id.ToShortString()} as asked reads {plan.Packs.Count} data pack(s), {Text.Bytes(plan.Packs.Sum(p => p.State.Size))}: "
                + $"{plan.Packs.Count(p => p.State.Status == ArchiveStatus.Archived)} archived, {plan.Packs.Count(p => p.State.Status == ArchiveStatus.Restoring)} being retrieved, "
                + $"{plan.Packs.Count(p => p.State.Readable)} readable");
        if (unreadable.Count == 0)
        {
            ctx.Say("nothing to retrieve: run the same restore without --plan");
            return;
        }
        SayPacksAndCosts(ctx, unreadable, costs);
        ctx.Say("then run the same restore with --retrieve-tier standard (or expedited, bulk) and --retrieve-days N");
    }

    /// <summary>The retrieval cost of these packs per tier.</summary>
    public static List<TierCost> Costs(IReadOnlyList<PackState> unreadable) =>
        Tiers.Select(t => new TierCost(Name(t), Typical(unreadable, t), RetrievalPrices.Cost(unreadable.Select(p => (p.State.StorageClass ?? "", p.State.Size)), t))).ToList();

    public static List<PlannedPack> Planned(IReadOnlyList<PackState> unreadable) =>
        unreadable.Select(p => new PlannedPack(p.Name, p.State.StorageClass, StatusName(p.State.Status), p.State.Size)).ToList();

    /// <summary>A table of the packs, then one of the cost per tier.</summary>
    public static void SayPacksAndCosts(CliContext ctx, IReadOnlyList<PackState> unreadable, List<TierCost> costs)
    {
        var rows = new List<string[]> { new[] { "pack", "class", "state", "size" } };
        rows.AddRange(unreadable.Select(p => new[] { p.Name, p.State.StorageClass ?? "STANDARD", StatusName(p.State.Status), Text.Bytes(p.State.Size) }));
        foreach (var line in Text.Table(rows)) ctx.Say("  " + line);
        ctx.Say($"retrieving {unreadable.Count} pack(s), {Text.Bytes(unreadable.Sum(p => p.State.Size))}, costs (AWS us-east-1 prices, per GB and per 1000 requests):");
        var tiers = new List<string[]> { new[] { "tier", "takes", "cost" } };
        tiers.AddRange(costs.Select(c => new[] { c.Tier, c.Typical, c.CostUsd is { } usd ? "$" + usd.ToString("0.0000", CultureInfo.InvariantCulture) : "not available" }));
        foreach (var line in Text.Table(tiers)) ctx.Say("  " + line);
    }

    /// <summary>Requests what the plan lacks, then waits, saying how many packs are readable after each poll.</summary>
    public static async Task RetrieveAsync(CliContext ctx, RetrievalPlan plan, RetrievalTier tier, int days)
    {
        await foreach (var _ in ThawAsync(ctx, plan, tier, days).ConfigureAwait(false)) { }
    }

    /// <summary>
    /// Requests what the plan lacks, then yields the packs as they become readable (<see cref="Retrieval.ThawAsync"/>),
    /// saying how many are readable after each poll. The caller acts on each batch before the next poll.
    /// <paramref name="storage"/> holds the packs: the repository's (-r) unless given (copy's source).
    /// </summary>
    public static async IAsyncEnumerable<IReadOnlyList<PackState>> ThawAsync(CliContext ctx, RetrievalPlan plan, RetrievalTier tier, int days, StorageHandle? storage = null)
    {
        var handle = storage ?? ctx.OpenStorage();
        var archive = handle.Archive!;
        var toRequest = plan.ToRequest;
        await Retrieval.RequestAsync(archive, plan, tier, days, ctx.S3.Connections, ctx.Cancellation).ConfigureAwait(false);
        var interval = Retrieval.PollInterval(tier);
        if (!ctx.Json && plan.Unreadable.Count > 0)
            ctx.Say($"retrieval requested for {toRequest.Count} pack(s) ({Text.Bytes(toRequest.Sum(p => p.State.Size))}), tier {Name(tier)}, kept {days} day(s); "
                    + $"{plan.Unreadable.Count - toRequest.Count} already being retrieved. Waiting, asking every {Text.Duration(interval)}; "
                    + "interrupting is safe: run the same command again to go on");
        await foreach (var batch in Retrieval.ThawAsync(archive, plan, tier, days, handle.Clock, interval, ctx.S3.Connections, (ready, total) =>
                       {
                           if (plan.Unreadable.Count == 0) return;
                           if (ctx.Json) ctx.WriteJson(new RetrievalStatus(ready, total), CliJson.Default.RetrievalStatus);
                           else ctx.Say($"retrieval: {ready}/{total} pack(s) readable");
                       }, ctx.Cancellation).ConfigureAwait(false))
            yield return batch;
    }

    private static readonly RetrievalTier[] Tiers = [RetrievalTier.Expedited, RetrievalTier.Standard, RetrievalTier.Bulk];

    private static string Name(RetrievalTier t) => t.ToString().ToLowerInvariant();

    private static string Typical(IReadOnlyList<PackState> packs, RetrievalTier tier) =>
        string.Join(", ", packs.Select(p => p.State.StorageClass ?? "").Distinct().Order(StringComparer.Ordinal)
            .Select(c => RetrievalPrices.For(c, tier)?.Typical ?? "-"));

    private static string StatusName(ArchiveStatus s) => s switch
    {
        ArchiveStatus.Archived => "archived",
        ArchiveStatus.Restoring => "retrieving",
        ArchiveStatus.Restored => "retrieved",
        _ => "readable",
    };
}

/// <summary>'restore --plan --json': what the restore reads and what retrieving the archived part costs per tier.</summary>
public sealed record RestorePlanJson(string SnapshotId, int Packs, long Bytes, int ArchivedPacks, int RetrievingPacks, int ReadablePacks, long BytesToRetrieve,
    IReadOnlyList<TierCost> Tiers, IReadOnlyList<PlannedPack> Unreadable)
{
    [JsonPropertyOrder(-1)] public string MessageType => "restore_plan";
}

/// <param name="CostUsd">AWS us-east-1 prices; null when a class lacks the tier (DEEP_ARCHIVE has no expedited).</param>
public sealed record TierCost(string Tier, string Typical, decimal? CostUsd);

public sealed record PlannedPack(string Name, string? StorageClass, string State, long Size);

/// <summary>'restore --retrieve-tier --json': one line per poll while waiting.</summary>
public sealed record RetrievalStatus(int ReadablePacks, int TotalPacks)
{
    [JsonPropertyOrder(-1)] public string MessageType => "retrieval_status";
}
