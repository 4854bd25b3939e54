using System.CommandLine;
using Dedup.Repository.Snapshots;

namespace Dedup.Cli.Cli;

/// <summary>
/// How a verb that names one snapshot (restore, ls, dump) picks it: an ID, a unique prefix, 'latest', 'latest~N' or a
/// time (the newest snapshot stored at or before it), among trusted snapshots only, of --host, --path and --tag if
/// given; --include-untrusted widens that for forensics. Each verb gets its own option objects, as with
/// <see cref="Commands.KdfOptions"/>.
/// </summary>
public sealed class SnapshotSelection
{
    public const string ArgumentHelp = "an ID, a unique ID prefix, 'latest', 'latest~N', or a time such as 2D, 4h or 2026-05-18 (described below)";

    /// <summary>The help paragraph for verbs that take a snapshot.</summary>
    public const string Help = """
        SNAPSHOT is an ID, a unique ID prefix, 'latest', 'latest~N' (N before the latest), or a time: the newest snapshot
        the storage recorded at or before it. A time is a date (2026-05-18 means its start, 00:00), a timestamp
        (2026-05-18T10:00, '2026-05-18 10:00:00Z'), both in local time unless an offset (Z, +02:00) is given, or an age
        before now: 30s, 30m, 4h, 2D, 1W, 3M (months), 1Y, or combined as 1h30m (case does not matter, except m/M).
        An ID prefix that reads as an age (such as 2d) is taken as an age: give more digits.
        --host, --path and --tag narrow the candidates for 'latest' and times.
        """;

    private readonly Option<string> _host = Opt.Text("host", "NAME", "with 'latest' or a time: only snapshots of this host");
    private readonly Option<string[]> _path = Opt.List("path", "PATH", "with 'latest' or a time: only snapshots containing this path (all given must be there)");
    private readonly Option<string[]> _tag = Opt.List("tag", "TAG", "with 'latest' or a time: only snapshots with this tag (all given must be there)");
    private readonly Option<bool> _includeUntrusted = Opt.Flag("include-untrusted", "forensics: also consider snapshots whose signer is not trusted");

    public IEnumerable<Option> All => [_host, _path, _tag, _includeUntrusted];

    public SnapshotFilter Filter(CliContext ctx) => new()
    {
        Host = ctx.Get(_host),
        Paths = (ctx.Get(_path) ?? []).Select(NormalisePath).ToList(),
        Tags = (ctx.Get(_tag) ?? []).SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList(),
        IncludeUntrusted = ctx.Get(_includeUntrusted),
    };

    /// <summary>A path as backup stores it: absolute, without a trailing slash.</summary>
    public static string NormalisePath(string p)
    {
        var full = Path.GetFullPath(p).TrimEnd('/');
        return full.Length == 0 ? "/" : full;
    }
}
