using System.CommandLine;
using Dedup.Repository.Snapshots;

namespace Dedup.Cli.Cli;

/// <summary>
/// How a verb that names one snapshot (restore, ls, dump) picks it: an ID, a unique prefix, 'latest' or 'latest~N',
/// among trusted snapshots only, of --host if given; --include-untrusted widens that for forensics. Each verb gets its
/// own option objects, as with <see cref="Commands.KdfOptions"/>.
/// </summary>
public sealed class SnapshotSelection
{
    public const string ArgumentHelp = "an ID, a unique ID prefix, 'latest' or 'latest~N'";

    private readonly Option<string> _host = Opt.Text("host", "NAME", "with 'latest': the latest snapshot of this host");
    private readonly Option<bool> _includeUntrusted = Opt.Flag("include-untrusted", "forensics: also consider snapshots whose signer is not trusted");

    public IEnumerable<Option> All => [_host, _includeUntrusted];

    public SnapshotFilter Filter(CliContext ctx) => new() { Host = ctx.Get(_host), IncludeUntrusted = ctx.Get(_includeUntrusted) };
}
