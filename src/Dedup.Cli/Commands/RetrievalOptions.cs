using System.CommandLine;
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

    /// <summary>The store's archive capability; a local folder has none, which is one clear line.</summary>
    public static IArchiveStorage ArchiveOf(StorageHandle storage, string verb) =>
        storage.Archive ?? throw new UsageException($"--retrieve-tier is for S3 repositories whose data packs are in an archive class (GLACIER, DEEP_ARCHIVE); {verb} reads a local folder at once, run it without");

    /// <summary>
    /// Plans <paramref name="packs"/> (one HEAD each), requests the archived ones at the tier asked for, then yields the
    /// packs as they become readable: the readable ones at once, the others in the batches each poll finds, each once.
    /// </summary>
    public async IAsyncEnumerable<IReadOnlyList<PackState>> ThawAsync(CliContext ctx, StorageHandle storage, string verb, IReadOnlyCollection<ObjectId> packs)
    {
        var tier = Parse(ctx) ?? throw new InvalidOperationException("no --retrieve-tier");
        var plan = await Retrieval.PlanAsync(ArchiveOf(storage, verb), packs, ctx.S3.Connections, ctx.Cancellation).ConfigureAwait(false);
        await foreach (var batch in RestoreRetrieval.ThawAsync(ctx, plan, tier, DaysGiven(ctx), storage).ConfigureAwait(false))
            yield return batch;
    }
}
