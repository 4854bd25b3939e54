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
    private readonly Option<int?> _latest = Opt.Int("latest", "N", 1, int.MaxValue, "only the N newest snapshots of each host and path set");
    private readonly Option<string> _older = Opt.Text("older", "TIME", "only snapshots stored at or before TIME (2026-05-18, 2026-05-18T10:00, 2D, 4h …)");
    private readonly Option<string> _newer = Opt.Text("newer", "TIME", "only snapshots stored at or after TIME (same forms as --older)");
    private readonly Option<bool> _compact = Opt.Flag("compact", "grouped view: one heading per host and path set, one line per snapshot", 'c');

    public SnapshotsCommand() : base("snapshots", "List the snapshots, oldest first.", """
        Filters: --host and --path may be repeated (any host matches; all given paths must be in the snapshot).
        '--tag a,b' selects snapshots having both a and b; repeating --tag selects those matching any of them.
        --older and --newer go by the time the storage recorded ("Stored"), as selection by time does: a date
        (2026-05-18 is its start), a timestamp (2026-05-18T10:00, '2026-05-18 10:00:00Z'), local time unless an offset
        is given, or an age before now (30m, 4h, 2D, 1W, 3M months, 1Y). --latest N keeps the N newest per group.
        --compact groups the snapshots by host and paths, one line each.
        With a write-only key, only the snapshots this key wrote are shown, and only their IDs and times; --host,
        --older, --newer and --latest apply, --path and --tag need a key that reads. A put-only host lists what its
        local record holds, and every filter applies to it.
        """)
    {
        foreach (var o in new Option[] { _host, _tag, _path, _latest, _older, _newer, _compact }) Add(o);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var older = Moment(ctx, _older);
        var newer = Moment(ctx, _newer);
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        if (repo.IsPutOnly)
            return EnrollCommand.ListLocal(ctx, repo, mine => Keep(ctx, mine, s => Matches(ctx, s.Host, s.Tags, s.Paths)
                && InRange(s.Time, older, newer), s => s.Host + "\0" + string.Join("\0", s.Paths), s => s.Time));
        if (repo.Keys.ReadKey is null) return await ListOwnAsync(ctx, repo, older, newer).ConfigureAwait(false);
        int damaged = 0;
        var all = await repo.Snapshots.LoadAllAsync((id, e) =>
        {
            Interlocked.Increment(ref damaged);
            ctx.Warn($"{e.Message}; skipped (run 'dedup check')");
        }, ctx.Cancellation).ConfigureAwait(false);
        var shown = all.Where(s => Matches(ctx, s.Info.Host, s.Info.Tags, s.Info.Paths) && InRange(SnapshotTime.Of(s), older, newer)).ToList();
        if (ctx.Get(_latest) is { } n)
            shown = shown.GroupBy(GroupKey).SelectMany(g => g.TakeLast(n)).OrderBy(s => s.EffectiveTime).ThenBy(s => s.Id).ToList();
        if (ctx.Json)
        {
            ctx.WriteJson(shown.Select(SnapshotJson.From).ToList(), CliJson.Default.ListSnapshotJson);
        }
        else if (!ctx.Quiet)
        {
            var lines = ctx.Get(_compact) ? Compact(shown) : Table(shown);
            foreach (var line in lines) ctx.Out.WriteLine(line);
            ctx.Out.WriteLine($"{shown.Count} snapshot{(shown.Count == 1 ? "" : "s")}");
        }
        return damaged > 0 ? ExitCodes.Damaged : ExitCodes.Ok;
    }

    private static DateTimeOffset? Moment(CliContext ctx, Option<string> option)
    {
        if (ctx.Get(option) is not { } text) return null;
        var clock = TimeProvider.System;
        return SnapshotTime.TryParse(text, clock.GetUtcNow(), clock.LocalTimeZone, out var m)
            ? m
            : throw new UsageException($"{option.Name} '{text}' is not a time: use {SnapshotTime.Forms}");
    }

    private static string GroupKey(LoadedSnapshot s) => s.Info.Host + "\0" + string.Join("\0", s.Info.Paths);

    private static string Flags(LoadedSnapshot s) =>
        (s.Info.Incomplete ? " (incomplete)" : "") + (s.Header.Trust == SignerTrust.Untrusted ? " (UNTRUSTED)" : "");

    private static IEnumerable<string> Table(List<LoadedSnapshot> shown)
    {
        var rows = new List<string[]> { new[] { "ID", "Time", "Stored", "Host", "Tags", "Paths" } };
        foreach (var s in shown)
        {
            var paths = s.Info.Paths.Count == 0 ? [""] : s.Info.Paths;
            rows.Add([s.Id.ToShortString(), Text.LocalTime(s.Info.Time), Text.LocalTime(SnapshotTime.Of(s)), s.Info.Host, string.Join(",", s.Info.Tags), paths[0] + Flags(s)]);
            foreach (var extra in paths.Skip(1)) rows.Add(["", "", "", "", "", extra]);
        }
        return Text.Table(rows);
    }

    /// <summary>One heading per host and path set (in order of their oldest snapshot), then one line per snapshot.</summary>
    private static IEnumerable<string> Compact(List<LoadedSnapshot> shown)
    {
        foreach (var group in shown.GroupBy(GroupKey))
        {
            var first = group.First();
            yield return $"host {first.Info.Host}: {string.Join(", ", first.Info.Paths)}";
            var rows = group.Select(s => new[] { "  " + s.Id.ToShortString(), Text.LocalTime(SnapshotTime.Of(s)), string.Join(",", s.Info.Tags) + Flags(s) }).ToList();
            foreach (var line in Text.Table(rows)) yield return line;
        }
    }

    private bool Matches(CliContext ctx, string? host, IReadOnlyCollection<string> tags, IReadOnlyCollection<string> snapshotPaths)
    {
        var hosts = ctx.Get(_host) ?? [];
        if (hosts.Length > 0 && !hosts.Contains(host)) return false;
        var tagSets = ctx.Get(_tag) ?? [];
        if (tagSets.Length > 0 && !tagSets.Any(set => set.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).All(tags.Contains)))
            return false;
        var paths = (ctx.Get(_path) ?? []).Select(SnapshotSelection.NormalisePath);
        return paths.All(snapshotPaths.Contains);
    }

    private static bool InRange(DateTimeOffset time, DateTimeOffset? older, DateTimeOffset? newer) =>
        (older is null || time <= older) && (newer is null || time >= newer);

    /// <summary>The filter, then --latest N per group, oldest first: for the listings that are not of loaded snapshots.</summary>
    private List<T> Keep<T>(CliContext ctx, IEnumerable<T> all, Func<T, bool> matches, Func<T, string> group, Func<T, DateTimeOffset> time)
    {
        var shown = all.Where(matches).OrderBy(time).ToList();
        return ctx.Get(_latest) is { } n ? shown.GroupBy(group).SelectMany(g => g.TakeLast(n)).OrderBy(time).ToList() : shown;
    }

    public static string TrustName(SignerTrust t) => t switch
    {
        SignerTrust.Repository => "repository",
        SignerTrust.CertifiedWriter => "certified-writer",
        _ => "untrusted",
    };

    private async Task<int> ListOwnAsync(CliContext ctx, Dedup.Repository.Repository repo, DateTimeOffset? older, DateTimeOffset? newer)
    {
        // A write-only key reads only the signed headers of its own snapshots: host and times, not paths or tags.
        if ((ctx.Get(_tag) ?? []).Length > 0 || (ctx.Get(_path) ?? []).Length > 0)
            throw new UsageException("a write-only key cannot read the paths or tags of snapshots; filter by --host, --older, --newer or --latest");
        var hosts = ctx.Get(_host) ?? [];
        var own = Keep(ctx, await repo.Snapshots.ListOwnHeadersAsync(ctx.Cancellation).ConfigureAwait(false),
            o => (hosts.Length == 0 || hosts.Contains(o.Header.CertifiedHost)) && InRange(o.StoredAt, older, newer),
            o => o.Header.CertifiedHost ?? "", o => o.StoredAt);
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
