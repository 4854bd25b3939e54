using System.CommandLine;
using Dedup.Cli.Cli;
using Dedup.Format;
using Dedup.Repository.Snapshots;
using Dedup.Repository.Trust;

namespace Dedup.Cli.Commands;

public sealed class SnapshotsCommand : Verb
{
    private readonly Option<string[]> _host = Opt.List("host", "NAME", "only snapshots of this host");
    private readonly Option<string[]> _tag = Opt.List("tag", "TAG[,TAG]", "only snapshots with all these tags");
    private readonly Option<string[]> _path = Opt.List("path", "PATH", "only snapshots containing this path");

    public SnapshotsCommand() : base("snapshots", "List the snapshots, oldest first.", """
        Filters: --host and --path may be repeated (any host matches; all given paths must be in the snapshot).
        '--tag a,b' selects snapshots having both a and b; repeating --tag selects those matching any of them.
        With a write-only key, only the snapshots this key wrote are shown, and only their IDs and times.
        """)
    {
        Add(_host);
        Add(_tag);
        Add(_path);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        if (repo.IsPutOnly) return EnrollCommand.ListLocal(ctx, repo);
        if (repo.Keys.ReadKey is null) return await ListOwnAsync(ctx, repo).ConfigureAwait(false);
        int damaged = 0;
        var all = await repo.Snapshots.LoadAllAsync((id, e) =>
        {
            Interlocked.Increment(ref damaged);
            ctx.Warn($"{e.Message}; skipped (run 'dedup check')");
        }, ctx.Cancellation).ConfigureAwait(false);
        var shown = all.Where(s => Matches(ctx, s)).ToList();
        if (ctx.Json)
        {
            ctx.WriteJson(shown.Select(SnapshotJson.From).ToList(), CliJson.Default.ListSnapshotJson);
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

    private bool Matches(CliContext ctx, LoadedSnapshot s)
    {
        var hosts = ctx.Get(_host) ?? [];
        if (hosts.Length > 0 && !hosts.Contains(s.Info.Host)) return false;
        var tagSets = ctx.Get(_tag) ?? [];
        if (tagSets.Length > 0 && !tagSets.Any(set => set.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).All(s.Info.Tags.Contains)))
            return false;
        var paths = (ctx.Get(_path) ?? []).Select(NormalisePath);
        return paths.All(p => s.Info.Paths.Contains(p));
    }

    private static string NormalisePath(string p)
    {
        var full = Path.GetFullPath(p).TrimEnd('/');
        return full.Length == 0 ? "/" : full;
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
            ctx.WriteJson(own.Select(o => new OwnSnapshotJson(o.Header.Id.ToString(), o.Header.Id.ToShortString(), Text.Iso(o.Header.ClaimedTime),
                o.Header.CertifiedHost, TrustName(o.Header.Trust), Text.Iso(o.StoredAt))).ToList(), CliJson.Default.ListOwnSnapshotJson);
            return ExitCodes.Ok;
        }
        var rows = new List<string[]> { new[] { "ID", "Time", "Host" } };
        rows.AddRange(own.Select(o => new[] { o.Header.Id.ToShortString(), Text.LocalTime(o.Header.ClaimedTime), o.Header.CertifiedHost ?? "" }));
        foreach (var line in Text.Table(rows)) ctx.Say(line);
        ctx.Say($"{own.Count} snapshots written by this write-only key (it cannot read their contents)");
        return ExitCodes.Ok;
    }
}

/// <summary>A snapshot as 'snapshots --json' and 'cat snapshot' print it.</summary>
public sealed record SnapshotJson(
    string Id, string ShortId, string Time, string Host, string Username, IReadOnlyList<string> Paths, IReadOnlyList<string> Tags,
    string? Parent, IReadOnlyList<string> Tree, string ProgramVersion, bool Incomplete, IReadOnlyList<string> Excludes, string? Original,
    SnapshotSummary Summary, string Trust, string StoredAt)
{
    public static SnapshotJson From(LoadedSnapshot s)
    {
        var i = s.Info;
        return new SnapshotJson(s.Id.ToString(), s.Id.ToShortString(), Text.Iso(i.Time), i.Host, i.Username, i.Paths, i.Tags, i.Parent, i.Tree,
            i.ProgramVersion, i.Incomplete, i.Excludes, i.Original, i.Summary, SnapshotsCommand.TrustName(s.Header.Trust), Text.Iso(s.StoredAt));
    }
}

/// <summary>What a write-only key may see of its own snapshots.</summary>
public sealed record OwnSnapshotJson(string Id, string ShortId, string Time, string? Host, string Trust, string StoredAt);
