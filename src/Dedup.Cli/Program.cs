using System.Runtime.InteropServices;
using Dedup.Cli.Cli;
using Dedup.Cli.Commands;

namespace Dedup.Cli;

public static class Program
{
    public static readonly IReadOnlyList<Verb> Verbs =
    [
        InitCommand.Verb, BackupCommand.Verb, SnapshotsCommand.Verb, RestoreCommand.Verb, BrowseCommands.Ls, BrowseCommands.Dump, MountCommand.Verb,
        CheckCommand.Verb, ForgetCommand.Verb, PruneCommand.Verb, CopyCommand.Verb, RepairCommand.Verb, KeyCommand.Verb, CatCommand.Verb,
        PolicyCommand.Verb, HelpCommands.Version, HelpCommands.Help,
    ];

    public static async Task<int> Main(string[] args)
    {
        using var cts = new CancellationTokenSource();
        // The first Ctrl-C cancels cleanly (temporary objects are never visible, so stopping anywhere is safe);
        // a second one is not intercepted and kills the process at once.
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = !cts.IsCancellationRequested;
            cts.Cancel();
        };
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            cts.Cancel();
        });
        try
        {
            return await RunAsync(args, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            return ErrorReport.Report(e, cts.IsCancellationRequested, Console.Error);
        }
        finally
        {
            await Console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var (name, index) = ArgParser.FindVerb(args, GlobalOptions.All);
        if (name is null)
        {
            var parsed = ArgParser.Parse(args, -1, GlobalOptions.All);
            Console.Out.Write(HelpCommands.GeneralUsage());
            return parsed.HelpRequested ? ExitCodes.Ok : ExitCodes.Usage;
        }
        var verb = Verbs.FirstOrDefault(v => v.Name == name)
            ?? throw new UsageException($"unknown verb '{name}'; 'dedup help' lists the verbs");
        ParsedArgs options;
        try
        {
            options = ArgParser.Parse(args, index, [.. GlobalOptions.All, .. verb.Options]);
            if (options.HelpRequested)
            {
                Console.Out.Write(verb.Usage());
                return ExitCodes.Ok;
            }
            verb.CheckArgCount(options);
        }
        catch (UsageException e)
        {
            throw new UsageException($"{e.Message}; see 'dedup {verb.Name} --help'");
        }
        await using var ctx = new CliContext(options, ct);
        return await verb.Run(ctx).ConfigureAwait(false);
    }
}
