using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Archiver.Check;
using Dedup.Cli.Cli;

namespace Dedup.Cli.Commands;

public sealed class CheckCommand : Verb
{
    private const int FilesShownPerProblem = 20;

    private readonly Option<bool> _readData = Opt.Flag("read-data", "also read and verify all data packs");
    private readonly Option<string> _readDataSubset = Opt.Text("read-data-subset", "n/t|x%|SIZE",
        "read and verify only part of the packs: the n-th of t groups (1/7 … 7/7 cover every pack once), x% at random, or about SIZE bytes at random");
    private readonly Option<bool> _plan = Opt.Flag("plan",
        "with --read-data or --read-data-subset: list the archived data packs (GLACIER, DEEP_ARCHIVE) this check would read, their size and the retrieval cost per tier; checks, requests and reads nothing");
    private readonly RetrievalOptions _retrieval = new("this check reads (with --read-data or --read-data-subset)", "then verify each pack as soon as it is readable");

    public CheckCommand() : base("check", "Verify the repository's structure, and with --read-data every byte of every pack.", """
        Every damaged or missing object is named, with the snapshots and files it affects (all of them with --json).
        Check only reads; it works with credentials that cannot delete. Exit code 12 when damage is found.
        With --json, status lines ("message_type": "status") come first and the report is the last line.
        --read-data-subset reads part of the data, as restic's does: 'n/t' the n-th of t fixed groups of packs (by pack
        ID), so a daily run of 1/7, 2/7 … 7/7 reads every pack once a week; 'x%' a random share of the packs; a size
        such as 500M random packs up to about that many bytes. The structure of every pack is checked either way.
        Cold storage (S3): data packs in GLACIER or DEEP_ARCHIVE cannot be read until retrieved; without
        --retrieve-tier they are named as warnings (not read, so not verified; not damage). With --retrieve-tier TIER
        [--retrieve-days N], check requests retrieval of exactly the archived packs it reads, verifies the readable ones
        at once and the others as they thaw, and says how many are readable after each poll. If interrupted, the same
        command again goes on: requests are idempotent; packs already verified are read and verified again. --plan
        lists the archived packs it would read and the cost per tier first (a random subset is chosen anew each run).
        """)
    {
        Add(_readData);
        Add(_readDataSubset);
        Add(_plan);
        foreach (var o in _retrieval.All) Add(o);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        PackSubset? subset = null;
        if (ctx.Get(_readDataSubset) is { } subsetText)
        {
            if (ctx.Get(_readData)) throw new UsageException("--read-data reads every pack and --read-data-subset a part: give one of them");
            try
            {
                subset = PackSubset.Parse(subsetText);
            }
            catch (FormatException e)
            {
                throw new UsageException($"--read-data-subset: {e.Message}");
            }
        }
        var tier = _retrieval.Parse(ctx);
        bool plan = ctx.Get(_plan);
        if ((tier is not null || plan) && !ctx.Get(_readData) && subset is null)
            throw new UsageException($"{(plan ? "--plan" : "--retrieve-tier")} goes with --read-data or --read-data-subset: without them check reads no data pack");
        if (tier is not null || plan) RetrievalOptions.ArchiveOf(ctx.OpenStorage(), "check", plan ? "--plan" : "--retrieve-tier");
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        var progress = new CheckProgress();
        var phase = "starting";
        var options = new CheckOptions
        {
            ReadData = ctx.Get(_readData) || subset is not null,
            ReadDataSubset = subset,
            Progress = progress,
            Log = new Progress<string>(p => Volatile.Write(ref phase, p)),
            ReadAsThawed = tier is null ? null : (packs, _) => _retrieval.ThawAsync(ctx, ctx.OpenStorage(), "check", packs).Select(b => (IReadOnlyList<Dedup.Format.ObjectId>)b.Select(p => p.Pack).ToList()),
        };
        if (plan)
        {
            SayPlan(ctx, subset, await RetrievalOptions.PlanAsync(ctx, ctx.OpenStorage(), "check", await Checker.PacksToReadAsync(repo, options, ctx.Cancellation).ConfigureAwait(false), "--plan")
                .ConfigureAwait(false));
            return ExitCodes.Ok;
        }
        CheckResult result;
        using (ctx.Progress(t => new CheckStatus(t.TotalSeconds, Volatile.Read(ref phase), progress.PacksChecked, progress.PacksTotal, progress.SnapshotsChecked,
                   progress.BytesRead), CliJson.Default.CheckStatus,
                   s => $"{s.Phase}: {s.PacksChecked}/{s.PacksTotal} packs, {s.SnapshotsChecked} snapshots"
                        + (options.ReadData ? $", {Text.Bytes(s.BytesRead)} read, {ProgressReport<CheckStatus>.RateAndEta(s.BytesRead, 0, TimeSpan.FromSeconds(s.SecondsElapsed))}" : "")
                        + $", {Text.Duration(TimeSpan.FromSeconds(s.SecondsElapsed))}"))
        {
            result = await Checker.RunAsync(repo, options, ctx.Cancellation).ConfigureAwait(false);
        }

        if (ctx.Json)
        {
            ctx.WriteJson(new CheckReport(result.IsOk, options.ReadData, subset?.ToString(), result.PacksChecked, result.PacksRead, result.BlobsChecked, result.SnapshotsChecked,
                result.Problems.Select(p => new CheckFinding(p.ObjectName, p.Description, p.IsWarning, p.AffectedSnapshots.ToList(), p.AffectedFiles.ToList())).ToList()),
                CliJson.Default.CheckReport);
        }
        else
        {
            foreach (var p in result.Problems)
            {
                // Problems go to stdout with the report (they are its content); the one-line verdict goes to stderr.
                ctx.Out.WriteLine(p.ToString());
                if (p.AffectedSnapshots.Count > 0) ctx.Out.WriteLine($"  affects snapshots: {string.Join(", ", p.AffectedSnapshots.Select(Short))}");
                foreach (var f in p.AffectedFiles.Take(FilesShownPerProblem)) ctx.Out.WriteLine($"  affects file: {f}");
                if (p.AffectedFiles.Count > FilesShownPerProblem) ctx.Out.WriteLine($"  … and {p.AffectedFiles.Count - FilesShownPerProblem} more files (--json lists all)");
            }
            if (subset is not null) ctx.Say($"read {subset}: {result.PacksRead} of {result.PacksChecked} packs");
            ctx.Say($"checked {result.PacksChecked} packs, {result.SnapshotsChecked} snapshots" + (options.ReadData ? $", {result.BlobsChecked} blobs read" : ""));
            if (result.IsOk) ctx.Say(result.Warnings.Any() ? "no errors were found (see the warnings above)" : "no errors were found");
        }
        if (result.IsOk) return ExitCodes.Ok;
        ctx.Warn($"the repository is damaged: {result.Errors.Count()} problem(s) found; the affected snapshots and files are listed above");
        return ExitCodes.Damaged;
    }

    /// <summary>What --plan prints: what the check would read, the archived packs among them, and the cost per tier.</summary>
    private static void SayPlan(CliContext ctx, PackSubset? subset, Dedup.Archiver.Restore.RetrievalPlan plan)
    {
        var p = PlanReport.Of(plan);
        if (ctx.Json)
        {
            ctx.WriteJson(new CheckPlanJson(subset?.ToString(), p.Packs, p.Bytes, p.Archived, p.Retrieving, p.Readable, p.BytesToRetrieve, p.Costs, p.Unreadable),
                CliJson.Default.CheckPlanJson);
            return;
        }
        ctx.Say($"check --read-data{(subset is null ? "" : $" ({subset})")} reads {p.Headline}");
        p.SayDetails(ctx, "the same check");
    }

    private static string Short(string id) => id.Length > 8 ? id[..8] : id;
}

public sealed record CheckStatus(double SecondsElapsed, string Phase, long PacksChecked, long PacksTotal, long SnapshotsChecked, long BytesRead)
{
    [JsonPropertyOrder(-1)] public string MessageType => "status";
}

public sealed record CheckFinding(string Object, string Description, bool Warning, IReadOnlyList<string> Snapshots, IReadOnlyList<string> Files);

/// <param name="ReadDataSubset">The subset read (e.g. "group 2/7"), null when all or none were read.</param>
/// <param name="PacksRead">Packs read whole and verified (the subset's, or all with --read-data).</param>
public sealed record CheckReport(bool Ok, bool ReadData, string? ReadDataSubset, long PacksChecked, long PacksRead, long BlobsChecked, long SnapshotsChecked, IReadOnlyList<CheckFinding> Problems)
{
    [JsonPropertyOrder(-1)] public string MessageType => "check";
}
