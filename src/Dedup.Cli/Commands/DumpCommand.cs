using System.CommandLine;
using Dedup.Archiver.Trees;
using Dedup.Cli.Cli;
using Dedup.Format;

namespace Dedup.Cli.Commands;

public sealed class DumpCommand : Verb
{
    private readonly Argument<string> _snapshot;
    private readonly Argument<string> _file;
    private readonly Option<string> _host = Opt.Text("host", "NAME", "with 'latest': the latest snapshot of this host");

    public DumpCommand() : base("dump", "Write one file of a snapshot to standard output.",
        "FILE is its path inside the snapshot, as 'dedup ls' shows it. Every block is verified before it is written.")
    {
        _snapshot = Arg<string>("SNAPSHOT", "an ID, a unique ID prefix, or 'latest'", ArgumentArity.ExactlyOne);
        _file = Arg<string>("FILE", "the file's path inside the snapshot", ArgumentArity.ExactlyOne);
        Add(_host);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "read files").ConfigureAwait(false);
        var snapshot = await repo.Snapshots.ResolveAsync(ctx.Get(_snapshot)!, ctx.Get(_host), ctx.Cancellation).ConfigureAwait(false);
        var path = "/" + ctx.Get(_file)!.Trim('/');
        var node = await SnapshotWalker.FindAsync(repo, snapshot.Info, path, ctx.Cancellation).ConfigureAwait(false)
            ?? throw new UsageException($"there is no '{path}' in snapshot {snapshot.Id.ToShortString()}; 'dedup ls {snapshot.Id.ToShortString()}' lists what is there");
        if (node.Type != NodeType.File)
            throw new UsageException($"'{path}' is a {Text.TypeName(node.Type)}, not a file; dump writes one file (use 'restore --include' for more)");
        await using var stdout = Console.OpenStandardOutput();
        await Dedup.Archiver.Restore.Dump.WriteFileAsync(repo, node, stdout, ctx.Cancellation).ConfigureAwait(false);
        return ExitCodes.Ok;
    }
}
