using System.Text.Json.Nodes;
using Dedup.Cli.Cli;
using Dedup.Maintenance;

namespace Dedup.Cli.Commands;

public static class ForgetCommand
{
    public static readonly Verb Verb = new("forget", "[SNAPSHOT...] [--keep-* ...] [--dry-run] [--prune]",
        "Remove snapshots, by ID or by a retention policy; with --prune, reclaim their space.",
        """
        A snapshot is kept when any --keep rule keeps it; the rules apply within each group (--group-by, default
        host,paths; snapshots signed by different keys never share a group). Without a rule or IDs nothing is removed.
        A snapshot's time counts only up to the time the storage recorded for it (plus one hour): a host cannot push
        out older snapshots with future-dated ones. Snapshots whose signature fails are listed apart and never
        removed by a policy. forget deletes snapshots only; their data goes with the next prune (or --prune).
        Needs credentials that can delete: run it on the admin host.
        """,
        [
            new("keep-last", null, "N", "keep the N newest snapshots"),
            new("keep-hourly", null, "N", "keep the newest snapshot of each of the last N hours that have one"),
            new("keep-daily", null, "N", "… of the last N days"),
            new("keep-weekly", null, "N", "… of the last N weeks"),
            new("keep-monthly", null, "N", "… of the last N months"),
            new("keep-yearly", null, "N", "… of the last N years"),
            new("keep-within", null, "DURATION", "keep snapshots within DURATION (e.g. 30d) of the group's newest"),
            new("keep-tag", null, "TAG", "keep snapshots with this tag", Repeatable: true),
            new("group-by", null, "host,paths,tags", "group snapshots by these (default host,paths; '' for one group per key)"),
            new("dry-run", 'n', null, "only show what would be removed (and, with --prune, pruned)"),
            new("prune", null, null, "run prune afterwards, with the prune flags below"),
            .. PruneCommand.PruneOptionSpecs,
        ],
        0, int.MaxValue, RunAsync);

    private static async Task<int> RunAsync(CliContext ctx)
    {
        var a = ctx.Args;
        var policy = new RetentionPolicy
        {
            Last = Keep(a, "last"), Hourly = Keep(a, "hourly"), Daily = Keep(a, "daily"), Weekly = Keep(a, "weekly"),
            Monthly = Keep(a, "monthly"), Yearly = Keep(a, "yearly"),
            Within = a.Get("keep-within") is { } w ? PruneCommand.Duration("keep-within", w) : null,
            KeepTags = a.GetList("keep-tag"),
        };
        if (a.Positionals.Count > 0 && !policy.IsEmpty) throw new UsageException("give snapshot IDs or --keep rules, not both");
        if (a.Positionals.Count == 0 && policy.IsEmpty)
            throw new UsageException("give snapshot IDs or a policy (--keep-last, --keep-daily, …); forget removes nothing by default");
        var groupBy = a.Has("group-by") ? a.GetList("group-by") : ["host", "paths"];
        foreach (var g in groupBy.Where(g => g is not ("host" or "paths" or "tags")))
            throw new UsageException($"--group-by takes host, paths and tags, not '{g}'");
        bool prune = a.Has("prune");
        if (!prune && PruneCommand.PruneOptionSpecs.Any(o => a.Has(o.Long)))
            throw new UsageException("--grace, --max-backup-age and --repack-threshold only go with --prune");
        var pruneOptions = prune ? PruneCommand.Options(ctx) : null;
        var options = new ForgetOptions { Policy = policy, GroupBy = groupBy, Ids = a.Positionals, DryRun = a.Has("dry-run") };

        var storage = ctx.OpenStorage().Storage;
        // Refuse backup-host credentials before the first snapshot goes, rather than after it.
        if (!options.DryRun) await AdminAccess.RequireDeleteAsync(storage, ctx.Cancellation).ConfigureAwait(false);
        if (pruneOptions is not null) PruneCommand.WarnIfNoGrace(ctx, pruneOptions);
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        repo.Keys.RequireReadKey("forget snapshots (it must read them)");
        var result = await Forget.RunAsync(repo, storage, options, ctx.Cancellation).ConfigureAwait(false);
        var report = pruneOptions is null ? null : await PruneCommand.RunAsync(ctx, repo, pruneOptions).ConfigureAwait(false);

        if (ctx.Json)
        {
            var json = ToJson(result, options.DryRun);
            if (report is not null) json["prune"] = PruneCommand.ToJson(report, pruneOptions!);
            ctx.WriteJson(json);
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

    private static int Keep(ParsedArgs a, string period) => a.GetInt("keep-" + period, 0, int.MaxValue) ?? 0;

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
        int toRemove = result.Groups.Sum(g => g.Items.Count(i => !i.Keep));
        ctx.Say(dryRun ? $"{toRemove} snapshot(s) would be removed (dry run: nothing was changed)"
            : $"removed {result.Removed} snapshot(s)" + (pruneFollows ? "" : "; run 'dedup prune' to reclaim their space"));
    }

    private static JsonObject ToJson(ForgetResult result, bool dryRun) => new()
    {
        ["message_type"] = "forget",
        ["dry_run"] = dryRun,
        ["removed"] = result.Removed,
        ["groups"] = new JsonArray(result.Groups.Select(g => (JsonNode)new JsonObject
        {
            ["key"] = g.Key,
            ["snapshots"] = new JsonArray(g.Items.Select(i => (JsonNode)Item(i)).ToArray()),
        }).ToArray()),
        ["untrusted"] = new JsonArray(result.Untrusted.Select(i => (JsonNode)Item(i)).ToArray()),
    };

    private static JsonObject Item(ForgetItem i) => new()
    {
        ["id"] = i.Id, ["short_id"] = i.Id[..8], ["time"] = Text.Iso(i.ClaimedTime), ["effective_time"] = Text.Iso(i.EffectiveTime),
        ["host"] = i.Host, ["paths"] = new JsonArray(i.Paths.Select(p => (JsonNode?)p).ToArray()),
        ["keep"] = i.Keep, ["reasons"] = new JsonArray(i.Reasons.Select(r => (JsonNode?)r).ToArray()), ["warning"] = i.Warning,
    };
}
