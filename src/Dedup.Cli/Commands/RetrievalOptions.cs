using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Archiver.Restore;
using Dedup.Cli.Cli;
using Dedup.Format;
using Dedup.Storage;

namespace Dedup.Cli.Commands;

/// <summary>
/// '--retrieve-tier TIER [--retrieve-days N]', shared by the verbs that read data packs (restore, check --read-data,
/// copy): request retrieval of exactly the archived packs the verb reads, then work on each pack as it thaws.
/// </summary>
internal sealed class RetrievalOptions
{
    public const int DefaultDays = 7;

    /// <param name="reads">Which packs the verb reads, e.g. "this check reads".</param>
    /// <param name="then">What it does with them, e.g. "verify each pack as it becomes readable".</param>
    public RetrievalOptions(string reads, string then)
    {
        Tier = TierOption(reads, then);
        Days = DaysOption();
    }

    public Option<string> Tier { get; }
    public Option<int?> Days { get; }
    public IEnumerable<Option> All => [Tier, Days];

    public static Option<string> TierOption(string reads, string then) =>
        Opt.OneOf("retrieve-tier", $"first request retrieval of the archived packs {reads} at this tier, {then}", "expedited", "standard", "bulk");

    public static Option<int?> DaysOption() =>
        Opt.Int("retrieve-days", "N", 1, 365, $"with --retrieve-tier: keep the retrieved copies readable for N days (default {DefaultDays}; AWS charges their storage meanwhile)");

    /// <summary>The tier asked for, null without --retrieve-tier; --retrieve-days alone is a usage error.</summary>
    public static RetrievalTier? Parse(CliContext ctx, Option<string> tier, Option<int?> days)
    {
        if (ctx.Given(days) && !ctx.Given(tier)) throw new UsageException("--retrieve-days goes with --retrieve-tier TIER (expedited, standard or bulk)");
        return ctx.Get(tier) is { } name ? RestoreRetrieval.ParseTier(name) : null;
    }

    public RetrievalTier? Parse(CliContext ctx) => Parse(ctx, Tier, Days);

    public int DaysGiven(CliContext ctx) => ctx.Get(Days) ?? DefaultDays;

    /// <summary>The store's archive capability; a local folder has none, which is one clear line naming <paramref name="options"/>.</summary>
    public static IArchiveStorage ArchiveOf(StorageHandle storage, string verb, string options = "--retrieve-tier") =>
        storage.Archive ?? throw new UsageException($"{options} is for S3 repositories whose data packs are in an archive class (GLACIER, DEEP_ARCHIVE); {verb} reads a local folder at once, run it without");

    /// <summary>The archive state of each of <paramref name="packs"/> (one HEAD each); nothing is requested.</summary>
    public static Task<RetrievalPlan> PlanAsync(CliContext ctx, StorageHandle storage, string verb, IReadOnlyCollection<ObjectId> packs, string options = "--retrieve-tier") =>
        Retrieval.PlanAsync(ArchiveOf(storage, verb, options), packs, ctx.S3.Connections, ctx.Cancellation);

    /// <summary>
    /// Plans <paramref name="packs"/> (one HEAD each), requests the archived ones at the tier asked for, then yields the
    /// packs as they become readable: the readable ones at once, the others in the batches each poll finds, each once.
    /// </summary>
    public async IAsyncEnumerable<IReadOnlyList<PackState>> ThawAsync(CliContext ctx, StorageHandle storage, string verb, IReadOnlyCollection<ObjectId> packs)
    {
        var tier = Parse(ctx) ?? throw new InvalidOperationException("no --retrieve-tier");
        var plan = await PlanAsync(ctx, storage, verb, packs).ConfigureAwait(false);
        await foreach (var batch in RestoreRetrieval.ThawAsync(ctx, plan, tier, DaysGiven(ctx), storage).ConfigureAwait(false))
            yield return batch;
    }
}

/// <summary>
/// What a --plan says of a <see cref="RetrievalPlan"/>, for check and copy (restore's own SayPlan shares the pieces): the
/// counts, the packs that are not readable, and the cost of retrieving them per tier. The verb says what it reads.
/// </summary>
internal sealed record PlanReport(RetrievalPlan Plan, List<TierCost> Costs)
{
    public static PlanReport Of(RetrievalPlan plan) => new(plan, RestoreRetrieval.Costs(plan.Unreadable));

    public int Packs => Plan.Packs.Count;
    public long Bytes => Plan.Packs.Sum(p => p.State.Size);
    public int Archived => Plan.Packs.Count(p => p.State.Status == ArchiveStatus.Archived);
    public int Retrieving => Plan.Packs.Count(p => p.State.Status == ArchiveStatus.Restoring);
    public int Readable => Plan.Packs.Count(p => p.State.Readable);
    public long BytesToRetrieve => Plan.Unreadable.Sum(p => p.State.Size);
    public IReadOnlyList<PlannedPack> Unreadable => RestoreRetrieval.Planned(Plan.Unreadable);

    /// <summary>"N data pack(s), SIZE: A archived, R being retrieved, K readable".</summary>
    public string Headline => $"{Packs} data pack(s), {Text.Bytes(Bytes)}: {Archived} archived, {Retrieving} being retrieved, {Readable} readable";

    /// <summary>The unreadable packs and the cost per tier as tables, and what to run next (<paramref name="rerun"/>: "the same check").</summary>
    public void SayDetails(CliContext ctx, string rerun)
    {
        if (Plan.Unreadable.Count == 0)
        {
            ctx.Say($"nothing to retrieve: run {rerun} without --plan");
            return;
        }
        RestoreRetrieval.SayPacksAndCosts(ctx, Plan.Unreadable, Costs);
        ctx.Say($"then run {rerun} with --retrieve-tier standard (or expedited, bulk) and --retrieve-days N");
    }
}

/// <summary>'check --read-data --plan --json': what the check would read and what retrieving the archived part costs per tier.</summary>
public sealed record CheckPlanJson(string? ReadDataSubset, int Packs, long Bytes, int ArchivedPacks, int RetrievingPacks, int ReadablePacks, long BytesToRetrieve,
    IReadOnlyList<TierCost> Tiers, IReadOnlyList<PlannedPack> Unreadable)
{
    [JsonPropertyOrder(-1)] public string MessageType => "check_plan";
}
