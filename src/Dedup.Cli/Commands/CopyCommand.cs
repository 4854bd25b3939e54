using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Copy;
using Dedup.Cli.Cli;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

public sealed class CopyCommand : Verb
{
    private readonly Argument<string[]> _snapshots;
    private readonly Option<string> _fromRepo = Opt.Text("from-repo", "URL", "the repository to copy from");
    private readonly Option<string> _fromAsOf = Opt.Text("from-as-of", "TIME",
        "copy from the source as its bucket held it at TIME, read from the bucket's object versions (see --as-of)");
    private readonly Option<string> _fromPasswordFile = Opt.Text("from-password-file", "FILE", "read the source password from FILE (env DEDUP_FROM_PASSWORD_FILE)");
    private readonly Option<bool> _plan = Opt.Flag("plan",
        "list the archived data packs (GLACIER, DEEP_ARCHIVE) of the source that the snapshots to copy read, their size and the retrieval cost per tier; copies and requests nothing");
    private readonly RetrievalOptions _retrieval = new("of the source that the snapshots to copy read", "then copy each snapshot as soon as all its packs are readable");

    public CopyCommand() : base("copy", "Copy snapshots from another repository into this one (-r), with deduplication.", """
        Without SNAPSHOT arguments every snapshot is copied. A re-run copies only what is missing: snapshots
        already copied are recognised, and data already in this repository is not stored again.
        The source password comes from --from-password-file, DEDUP_FROM_PASSWORD_FILE, DEDUP_FROM_PASSWORD or a
        prompt. Both repositories use the same S3 settings and AWS credentials.
        With --json, status lines ("message_type": "status") come first and the summary is the last line.
        Cold storage (S3): the source's data packs in GLACIER or DEEP_ARCHIVE must be retrieved before they can be read;
        without --retrieve-tier a copy that meets one stops with one line saying what to run. With --retrieve-tier TIER
        [--retrieve-days N], copy requests retrieval of exactly the archived packs the snapshots to copy read, then copies
        each snapshot as soon as all its packs are readable (those that need none first), saying how many packs are
        readable after each poll. If interrupted, the same command again goes on: requests are idempotent and snapshots
        already copied are skipped. --plan lists the archived packs the copy would need and the cost per tier first.
        Example: dedup -r /mnt/nas/backup copy --from-repo s3:https://s3.example.com/backups
        """)
    {
        _snapshots = Arg<string[]>("SNAPSHOT", "snapshots to copy (default: all)", ArgumentArity.ZeroOrMore);
        _fromRepo.Required = true;
        Add(_fromRepo);
        Add(_fromPasswordFile);
        Add(_fromAsOf);
        Add(_plan);
        foreach (var o in _retrieval.All) Add(o);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var from = ctx.Get(_fromRepo)!;
        if (from == ctx.RepositoryUrl) throw new UsageException("--from-repo and -r name the same repository");
        if (ctx.Given(GlobalOptions.AsOf)) AsOfReading.RequireReadVerb(ctx.VerbName);
        var fromAsOf = ctx.Get(_fromAsOf) is { } time ? AsOfReading.ParseTime(time, "--from-as-of") : (DateTimeOffset?)null;
        var tier = _retrieval.Parse(ctx);
        using var sourceStorage = StorageFactory.Open(from, ctx.S3, ctx.Bandwidth, fromAsOf);
        bool plan = ctx.Get(_plan);
        if (tier is not null || plan) RetrievalOptions.ArchiveOf(sourceStorage, "copy from --from-repo", plan ? "--plan" : "--retrieve-tier");
        Repo source;
        using (var password = Passwords.ForSource(ctx.Get(_fromPasswordFile)))
            source = await AsOfReading.ExplainMissingAsync(sourceStorage, from,
                () => Repo.OpenAsync(sourceStorage.Storage, password.Memory, ct: ctx.Cancellation), ctx.Cancellation).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            var dest = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
            if (plan)
            {
                await SayPlanAsync(ctx, source, dest, sourceStorage).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            var progress = new BackupProgress();
            CopyResult result;
            using (ctx.Progress(t => new CopyStatus(t.TotalSeconds, progress.Files, progress.BytesProcessed, progress.BytesAdded), CliJson.Default.CopyStatus,
                       s => $"{s.FilesDone} files, {Text.Bytes(s.BytesDone)} copied, {Text.Bytes(s.BytesAdded)} added, {Text.Duration(TimeSpan.FromSeconds(s.SecondsElapsed))}"))
                result = await SnapshotCopier.RunAsync(source, dest, ctx.Get(_snapshots) ?? [], progress, ctx.Cancellation, tier is null ? null : (snapshots, ct) =>
                    CopyOrder.AsPacksThawAsync(source, snapshots, packs => _retrieval.ThawAsync(ctx, sourceStorage, "copy", packs).Select(b => (IReadOnlyList<Dedup.Format.ObjectId>)b.Select(p => p.Pack).ToList()), ct)
                        .Select(group => SayGroup(ctx, group))).ConfigureAwait(false);
            if (ctx.Json)
            {
                ctx.WriteJson(new CopySummary(result.Copied.Select(c => new CopiedSnapshot(c.Source, c.Destination)).ToList(), result.AlreadyPresent,
                    result.Failed.Select(f => new CopyFailure(f.Source, f.Reason)).ToList(), progress.BytesAdded), CliJson.Default.CopySummary);
                return result.Failed.Count > 0 ? ExitCodes.Partial : ExitCodes.Ok;
            }
            foreach (var (s, d) in result.Copied) ctx.Say($"copied snapshot {s[..8]} as {d[..8]}");
            foreach (var (s, reason) in result.Failed) ctx.Warn($"could not copy snapshot {s[..8]}: {reason}");
            ctx.Say($"{result.Copied.Count} snapshot(s) copied, {Text.Bytes(progress.BytesAdded)} added; {result.AlreadyPresent.Count} already present"
                    + (result.Failed.Count > 0 ? $"; {result.Failed.Count} could not be copied (listed above; 'dedup check' on the source says more)" : ""));
            return result.Failed.Count > 0 ? ExitCodes.Partial : ExitCodes.Ok;
        }
    }

    /// <summary>What --plan prints: the snapshots a copy would copy, the source's archived packs they read, and the cost per tier.</summary>
    private async Task SayPlanAsync(CliContext ctx, Repo source, Repo dest, StorageHandle sourceStorage)
    {
        source.Keys.RequireReadKey("read the source repository");
        await source.LoadIndexAsync(ctx.Cancellation).ConfigureAwait(false);
        var (toCopy, present) = await SnapshotCopier.SelectAsync(source, dest, ctx.Get(_snapshots) ?? [], ctx.Cancellation).ConfigureAwait(false);
        var needs = await CopyOrder.NeedsAsync(source, toCopy, ctx.Cancellation).ConfigureAwait(false);
        var p = PlanReport.Of(await RetrievalOptions.PlanAsync(ctx, sourceStorage, "copy", needs.SelectMany(n => n.Packs).ToHashSet(), "--plan").ConfigureAwait(false));
        if (ctx.Json)
        {
            ctx.WriteJson(new CopyPlanJson(toCopy.Count, present.Count, p.Packs, p.Bytes, p.Archived, p.Retrieving, p.Readable, p.BytesToRetrieve, p.Costs, p.Unreadable),
                CliJson.Default.CopyPlanJson);
            return;
        }
        ctx.Say($"copying {toCopy.Count} snapshot(s) ({present.Count} already present) reads {p.Headline}");
        p.SayDetails(ctx, "the same copy");
    }

    /// <summary>With --retrieve-tier: which snapshots are copied now that their packs are readable.</summary>
    private static IReadOnlyList<Dedup.Repository.Snapshots.LoadedSnapshot> SayGroup(CliContext ctx, IReadOnlyList<Dedup.Repository.Snapshots.LoadedSnapshot> group)
    {
        if (!ctx.Json) ctx.Say($"copying {group.Count} snapshot(s) whose packs are all readable: {string.Join(", ", group.Select(s => s.Id.ToShortString()))}");
        return group;
    }
}

/// <summary>'copy --plan --json': the snapshots to copy, the source packs they read, and what retrieving the archived part costs per tier.</summary>
public sealed record CopyPlanJson(int Snapshots, int AlreadyPresent, int Packs, long Bytes, int ArchivedPacks, int RetrievingPacks, int ReadablePacks, long BytesToRetrieve,
    IReadOnlyList<TierCost> Tiers, IReadOnlyList<PlannedPack> Unreadable)
{
    [JsonPropertyOrder(-1)] public string MessageType => "copy_plan";
}

public sealed record CopyStatus(double SecondsElapsed, long FilesDone, long BytesDone, long BytesAdded)
{
    [JsonPropertyOrder(-1)] public string MessageType => "status";
}

public sealed record CopiedSnapshot(string Source, string Destination);

/// <summary>A snapshot of the source that was not copied (untrusted, unreadable), and why.</summary>
public sealed record CopyFailure(string Source, string Reason);

public sealed record CopySummary(IReadOnlyList<CopiedSnapshot> Copied, IReadOnlyList<string> AlreadyPresent, IReadOnlyList<CopyFailure> Failed, long BytesAdded)
{
    [JsonPropertyOrder(-1)] public string MessageType => "copy";
}
