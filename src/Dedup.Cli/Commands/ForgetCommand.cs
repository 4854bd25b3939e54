using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Cli.Cli;
using Dedup.Cli.Profiles;
using Dedup.Maintenance;

namespace Dedup.Cli.Commands;

public sealed class ForgetCommand : Verb
{
    private readonly Argument<string[]> _ids;
    // Restic's short forms: -l -H -d -w -m -y.
    private readonly Option<int?> _last = Keep("last", 'l', "keep the N newest snapshots");
    private readonly Option<int?> _hourly = Keep("hourly", 'H', "keep the newest snapshot of each of the last N hours that have one");
    private readonly Option<int?> _daily = Keep("daily", 'd', "… of the last N days");
    private readonly Option<int?> _weekly = Keep("weekly", 'w', "… of the last N weeks");
    private readonly Option<int?> _monthly = Keep("monthly", 'm', "… of the last N months");
    private readonly Option<int?> _yearly = Keep("yearly", 'y', "… of the last N years");
    private readonly Option<TimeSpan?> _within = Opt.Duration("keep-within", "keep snapshots within DURATION (e.g. 30d) of the group's newest");
    private readonly Option<string[]> _keepTag = Opt.List("keep-tag", "TAG", "keep snapshots with this tag");
    private readonly Option<string> _groupBy = Opt.Text("group-by", "host,paths,tags", "group snapshots by these (default host,paths; '' for one group per key)");
    private readonly Option<bool> _dryRun = Opt.Flag("dry-run", "only show what would be removed (and, with --prune, pruned)", 'n');
    private readonly Option<bool> _prune = Opt.Flag("prune", "run prune afterwards, with the prune options below");
    private readonly PruneOptionSet _pruneOptions = new();

    public ForgetCommand() : base("forget", "Remove snapshots, by ID or by a retention policy; with --prune, reclaim their space.", """
        A snapshot is kept when any --keep rule keeps it; the rules apply within each group (--group-by, default
        host,paths; snapshots signed by different keys never share a group). Without a rule or IDs nothing is removed.
        A snapshot's time counts only up to the time the storage recorded for it (plus one hour): a host cannot push
        out older snapshots with future-dated ones. Snapshots whose signature fails are listed apart and never
        removed by a policy. forget deletes snapshots only; their data goes with the next prune (or --prune).
        With a profile (-p NAME) and no --keep option, the profile's retention applies ('dedup help profiles').
        Needs credentials that can delete: run it on the admin host.
        """)
    {
        _ids = Arg<string[]>("SNAPSHOT", "snapshots to remove: IDs or unique ID prefixes", ArgumentArity.ZeroOrMore);
        var keeps = new Option[] { _last, _hourly, _daily, _weekly, _monthly, _yearly, _within, _keepTag };
        foreach (var o in keeps) Add(o);
        Add(_groupBy);
        Add(_dryRun);
        Add(_prune);
        foreach (var o in _pruneOptions.All)
        {
            Add(o);
            OnlyWith(o, _prune);
        }
        NotWithAny(_ids, keeps, "give snapshot IDs or --keep rules, not both");
    }

    private static Option<int?> Keep(string period, char alias, string help) => Opt.Int("keep-" + period, "N", 0, int.MaxValue, help, alias);

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var ids = ctx.Get(_ids) ?? [];
        var policy = new RetentionPolicy
        {
            Last = ctx.Get(_last) ?? 0, Hourly = ctx.Get(_hourly) ?? 0, Daily = ctx.Get(_daily) ?? 0, Weekly = ctx.Get(_weekly) ?? 0,
            Monthly = ctx.Get(_monthly) ?? 0, Yearly = ctx.Get(_yearly) ?? 0, Within = ctx.Get(_within),
            KeepTags = SplitCommas(ctx.Get(_keepTag) ?? []),
        };
        var profileRetention = ctx.Profile?.Retention;
        if (ids.Length == 0 && policy.IsEmpty && profileRetention is { IsEmpty: false } r) policy = FromProfile(r);
        if (ids.Length == 0 && policy.IsEmpty)
            throw new UsageException("give snapshot IDs or a policy (--keep-last, --keep-daily, …); forget removes nothing by default");
        var groupBy = ctx.Get(_groupBy) is { } g ? SplitCommas([g]) : profileRetention?.GroupBy ?? ["host", "paths"];
        foreach (var bad in groupBy.Where(x => x is not ("host" or "paths" or "tags")))
            throw new UsageException($"--group-by takes host, paths and tags, not '{bad}'");
        bool dryRun = ctx.Get(_dryRun);
        var pruneOptions = ctx.Get(_prune) ? _pruneOptions.Read(ctx, dryRun) : null;
        var options = new ForgetOptions { Policy = policy, GroupBy = groupBy, Ids = ids, DryRun = dryRun };

        var storage = ctx.OpenStorage().Storage;
        // Refuse backup-host credentials before the first snapshot goes, rather than after it.
        if (!options.DryRun) await AdminAccess.RequireDeleteAsync(storage, ctx.Cancellation).ConfigureAwait(false);
        if (pruneOptions is not null) PruneCommand.WarnIfNoGrace(ctx, pruneOptions);
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        repo.Keys.RequireReadKey("forget snapshots (it must read them)");
        var result = await Forget.RunAsync(repo, storage, options, ctx.Cancellation).ConfigureAwait(false);
        // A dry run removed nothing, so its prune plans as if the snapshots it would remove were gone: that is what the user asks.
        if (pruneOptions is not null && options.DryRun)
            pruneOptions = pruneOptions with { AssumeForgotten = result.Groups.SelectMany(g => g.Items).Where(i => !i.Keep).Select(i => i.Id).ToHashSet() };
        var report = pruneOptions is null ? null : await PruneCommand.RunAsync(ctx, repo, pruneOptions).ConfigureAwait(false);

        if (ctx.Json)
        {
            ctx.WriteJson(new ForgetReport(options.DryRun, result.Removed,
                result.Groups.Select(x => new ForgetGroupJson(x.Key, x.Items.Select(ForgetItemJson.From).ToList())).ToList(),
                result.Untrusted.Select(ForgetItemJson.From).ToList(), result.Replayed,
                report is null ? null : PruneSummary.From(report, pruneOptions!)), CliJson.Default.ForgetReport);
            return ExitCodes.Ok;
        }
        Print(ctx, result, options.DryRun, report is not null);
        if (report is not null)
        {
            ctx.Say("");
            PruneCommand.Print(ctx, report, pruneOptions!);
        }
        return ExitCodes.Ok;
    }

    private static RetentionPolicy FromProfile(Retention r) => new()
    {
        Last = r.Last ?? 0, Hourly = r.Hourly ?? 0, Daily = r.Daily ?? 0, Weekly = r.Weekly ?? 0, Monthly = r.Monthly ?? 0, Yearly = r.Yearly ?? 0,
        Within = r.Within, KeepTags = r.KeepTags,
    };

    private static List<string> SplitCommas(IEnumerable<string> values) =>
        values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    private static void Print(CliContext ctx, ForgetResult result, bool dryRun, bool pruneFollows)
    {
        foreach (var group in result.Groups)
        {
            ctx.Say($"group {group.Key}:");
            var rows = new List<string[]> { new[] { "  ID", "Time", "Host", "Action", "Reasons" } };
            rows.AddRange(group.Items.Select(i => new[]
            {
                "  " + i.Id[..8], Text.LocalTime(i.EffectiveTime), i.Host, i.Keep ? "keep" : dryRun ? "would remove" : "remove",
                i.Keep ? string.Join(", ", i.Reasons) : i.Reasons.Count > 0 ? string.Join(", ", i.Reasons) : "no rule keeps it",
            }));
            foreach (var line in Text.Table(rows)) ctx.Say(line);
            foreach (var i in group.Items.Where(i => i.Warning is not null)) ctx.Warn($"warning: snapshot {i.Id[..8]}: {i.Warning}");
            ctx.Say("");
        }
        if (result.Untrusted.Count > 0)
        {
            ctx.Say("untrusted snapshots (their signature fails; never removed by a policy, see 'dedup check'):");
            foreach (var i in result.Untrusted) ctx.Say($"  {i.Id[..8]}  {Text.LocalTime(i.ClaimedTime)}  {i.Host}");
            ctx.Say("");
        }
        if (result.Replayed.Count > 0)
        {
            // Forgotten before (a tombstone buries them) and uploaded again by a host or store that kept a copy: never
            // listed nor selected, and removed again by every forget that is not a dry run.
            ctx.Say($"replayed snapshots (forgotten before and stored again; ignored everywhere), {(dryRun ? "would be removed again" : "removed again")}:");
            foreach (var id in result.Replayed) ctx.Say($"  {id[..8]}");
            ctx.Say("");
        }
        int toRemove = result.Groups.Sum(g => g.Items.Count(i => !i.Keep));
        ctx.Say(dryRun ? $"{toRemove} snapshot(s) would be removed (dry run: nothing was changed)"
            : $"removed {result.Removed} snapshot(s)" + (pruneFollows ? "" : "; run 'dedup prune' to reclaim their space"));
    }
}

public sealed record ForgetItemJson(
    string Id, string ShortId, string Time, string EffectiveTime, string Host, IReadOnlyList<string> Paths, bool Keep,
    IReadOnlyList<string> Reasons, string? Warning)
{
    public static ForgetItemJson From(ForgetItem i) =>
        new(i.Id, i.Id[..8], Text.Iso(i.ClaimedTime), Text.Iso(i.EffectiveTime), i.Host, i.Paths, i.Keep, i.Reasons, i.Warning);
}

public sealed record ForgetGroupJson(string Key, IReadOnlyList<ForgetItemJson> Snapshots);

/// <summary>
/// 'forget --json'; replayed lists the IDs of forgotten snapshots found stored again, which this run removed again (or
/// would, in a dry run); with --prune, the prune report under "prune".
/// </summary>
public sealed record ForgetReport(
    bool DryRun, int Removed, IReadOnlyList<ForgetGroupJson> Groups, IReadOnlyList<ForgetItemJson> Untrusted, IReadOnlyList<string> Replayed,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PruneSummary? Prune)
{
    [JsonPropertyOrder(-1)] public string MessageType => "forget";
}
