using System.Runtime.InteropServices;
using Dedup.Cli.Cli;
using Dedup.Cli.Profiles;

namespace Dedup.Cli;

public static class Program
{
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
            return ErrorReport.Report(e, cts.IsCancellationRequested, Console.Error).Code;
        }
        finally
        {
            await Console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        if (args is [Completion.Hidden, .. var words])
        {
            Completion.Suggest(words, Console.Out);
            return ExitCodes.Ok;
        }
        var parse = CommandLine.Parse(args);
        if (CommandLine.HelpRequested(parse))
        {
            Console.Out.Write(HelpText.For(parse.CommandResult.Command));
            return ExitCodes.Ok;
        }
        var verb = CommandLine.VerbToRun(parse, args);
        if (verb is null)
        {
            Console.Out.Write(HelpText.General(CommandLine.Root));
            return ExitCodes.Usage;
        }
        var profile = parse.GetValue(GlobalOptions.Profile) is { } name ? ConfigFile.Load(name) : null;
        await using var ctx = new CliContext(parse, profile, ct);
        return await verb.RunAsync(ctx).ConfigureAwait(false);
    }
}
