using Dedup.Repository.Trust;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dedup.Cli.Cli;
using Dedup.Repository.Snapshots;

namespace Dedup.Cli.Commands;

public static class SnapshotsCommand
{
    public static readonly Verb Verb = new("snapshots", "[options]",
        "List the snapshots, oldest first.",
        """
        Filters: --host and --path may be repeated (any host matches; all given paths must be in the snapshot).
        '--tag a,b' selects snapshots having both a and b; repeating --tag selects those matching any of them.
        With a write-only key, only the snapshots this key wrote are shown, and only their IDs and times.
        """,
        [
            new("host", null, "NAME", "only snapshots of this host", Repeatable: true),
            new("tag", null, "TAG[,TAG]", "only snapshots with all these tags", Repeatable: true),
            new("path", null, "PATH", "only snapshots containing this path", Repeatable: true),
        ],
        0, 0, RunAsync);

    private static async Task<int> RunAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        if (repo.Keys.ReadKey is null) return await ListOwnAsync(ctx, repo).ConfigureAwait(false);
        int damaged = 0;
        var all = await repo.Snapshots.LoadAllAsync((id, e) =>
        {
            Interlocked.Increment(ref damaged);
            ctx.Warn($"{e.Message}; skipped (run 'dedup check')");
        }, ctx.Cancellation).ConfigureAwait(false);
        var shown = all.Where(s => Matches(ctx.Args, s)).ToList();
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonArray(shown.Select(s => (JsonNode)ToJson(s)).ToArray()));
        }
        else if (!ctx.Quiet)
        {
            var rows = new List<string[]> { new[] { "ID", "Time", "Host", "Tags", "Paths" } };
            foreach (var s in shown)
            {
                var flags = (s.Info.Incomplete ? " (incomplete)" : "") + (s.Header.Trust == SignerTrust.Untrusted ? " (UNTRUSTED)" : "");
                var paths = s.Info.Paths.Count == 0 ? [""] : s.Info.Paths;
                rows.Add([s.Id.ToShortString(), Text.LocalTime(s.Info.Time), s.Info.Host, string.Join(",", s.Info.Tags), paths[0] + flags]);
                foreach (var extra in paths.Skip(1)) rows.Add(["", "", "", "", extra]);
            }
            foreach (var line in Text.Table(rows)) ctx.Out.WriteLine(line);
            ctx.Out.WriteLine($"{shown.Count} snapshot{(shown.Count == 1 ? "" : "s")}");
        }
        return damaged > 0 ? ExitCodes.Damaged : ExitCodes.Ok;
    }

    private static bool Matches(ParsedArgs a, LoadedSnapshot s)
    {
        var hosts = a.GetAll("host");
        if (hosts.Count > 0 && !hosts.Contains(s.Info.Host)) return false;
        var tagSets = a.GetAll("tag");
        if (tagSets.Count > 0 && !tagSets.Any(set => set.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).All(s.Info.Tags.Contains)))
            return false;
        var paths = a.GetAll("path").Select(NormalisePath);
        return paths.All(p => s.Info.Paths.Contains(p));
    }

    private static string NormalisePath(string p)
    {
        var full = Path.GetFullPath(p).TrimEnd('/');
        return full.Length == 0 ? "/" : full;
    }

    public static JsonObject ToJson(LoadedSnapshot s)
    {
        var i = s.Info;
        return new JsonObject
        {
            ["id"] = s.Id.ToString(),
            ["short_id"] = s.Id.ToShortString(),
            ["time"] = Text.Iso(i.Time),
            ["host"] = i.Host,
            ["username"] = i.Username,
            ["paths"] = new JsonArray(i.Paths.Select(p => (JsonNode?)p).ToArray()),
            ["tags"] = new JsonArray(i.Tags.Select(t => (JsonNode?)t).ToArray()),
            ["parent"] = i.Parent,
            ["tree"] = new JsonArray(i.Tree.Select(t => (JsonNode?)t).ToArray()),
            ["program_version"] = i.ProgramVersion,
            ["incomplete"] = i.Incomplete,
            ["excludes"] = new JsonArray(i.Excludes.Select(t => (JsonNode?)t).ToArray()),
            ["original"] = i.Original,
            ["summary"] = JsonSerializer.SerializeToNode(i.Summary),
            ["trust"] = TrustName(s.Header.Trust),
            ["stored_at"] = Text.Iso(s.StoredAt),
        };
    }

    public static string TrustName(SignerTrust t) => t switch
    {
        SignerTrust.Repository => "repository",
        SignerTrust.CertifiedWriter => "certified-writer",
        _ => "untrusted",
    };

    private static async Task<int> ListOwnAsync(CliContext ctx, Dedup.Repository.Repository repo)
    {
        var own = await repo.Snapshots.ListOwnHeadersAsync(ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonArray(own.Select(o => (JsonNode)new JsonObject
            {
                ["id"] = o.Header.Id.ToString(), ["short_id"] = o.Header.Id.ToShortString(), ["time"] = Text.Iso(o.Header.ClaimedTime),
                ["host"] = o.Header.CertifiedHost, ["trust"] = TrustName(o.Header.Trust), ["stored_at"] = Text.Iso(o.StoredAt),
            }).ToArray()));
            return ExitCodes.Ok;
        }
        var rows = new List<string[]> { new[] { "ID", "Time", "Host" } };
        rows.AddRange(own.Select(o => new[] { o.Header.Id.ToShortString(), Text.LocalTime(o.Header.ClaimedTime), o.Header.CertifiedHost ?? "" }));
        foreach (var line in Text.Table(rows)) ctx.Say(line);
        ctx.Say($"{own.Count} snapshots written by this write-only key (it cannot read their contents)");
        return ExitCodes.Ok;
    }
}
