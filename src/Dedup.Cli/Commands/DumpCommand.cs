using System.CommandLine;
using Dedup.Archiver.Trees;
using Dedup.Cli.Cli;
using Dedup.Format;

namespace Dedup.Cli.Commands;

public sealed class DumpCommand : Verb
{
    private readonly Argument<string> _snapshot;
    private readonly Argument<string> _file;
    private readonly SnapshotSelection _selection = new();

    public DumpCommand() : base("dump", "Write one file of a snapshot to standard output.",
        "FILE is its path inside the snapshot, as 'dedup ls' shows it. Every block is verified before it is written.\n\n" + SnapshotSelection.Help)
    {
        _snapshot = Arg<string>("SNAPSHOT", SnapshotSelection.ArgumentHelp, ArgumentArity.ExactlyOne);
        _file = Arg<string>("FILE", "the file's path inside the snapshot", ArgumentArity.ExactlyOne);
        foreach (var o in _selection.All) Add(o);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "read files").ConfigureAwait(false);
        var snapshot = await repo.Snapshots.ResolveAsync(ctx.Get(_snapshot)!, _selection.Filter(ctx), ctx.Cancellation).ConfigureAwait(false);
        var path = "/" + ctx.Get(_file)!.Trim('/');
        var node = await SnapshotWalker.FindAsync(repo, snapshot, path, ctx.Cancellation).ConfigureAwait(false)
            ?? throw new UsageException($"there is no '{path}' in snapshot {snapshot.Id.ToShortString()}; 'dedup ls {snapshot.Id.ToShortString()}' lists what is there");
        if (node.Type != NodeType.File)
            throw new UsageException($"'{path}' is a {Text.TypeName(node.Type)}, not a file; dump writes one file (use 'restore --include' for more)");
        await using var stdout = Console.OpenStandardOutput();
        await Dedup.Archiver.Restore.Dump.WriteFileAsync(repo, snapshot.Domain, node, stdout, ctx.Cancellation).ConfigureAwait(false);
        return ExitCodes.Ok;
    }
}
