using System.Text;
using System.Text.Json.Nodes;
using Dedup.Cli.Cli;

namespace Dedup.Cli.Commands;

public static class HelpCommands
{
    public static string ProgramVersion =>
        typeof(HelpCommands).Assembly.GetName().Version?.ToString(3) ?? "0";

    public static readonly Verb Version = new("version", "", "Print the version of dedup.", "", [], 0, 0, ctx =>
    {
        if (ctx.Json) ctx.WriteJson(new JsonObject { ["version"] = ProgramVersion, ["runtime"] = Environment.Version.ToString() });
        else ctx.Out.WriteLine($"dedup {ProgramVersion} (.NET {Environment.Version})");
        return Task.FromResult(ExitCodes.Ok);
    });

    public static readonly Verb Help = new("help", "[VERB|exit-codes|environment]",
        "Show the list of verbs, one verb's help, the exit codes or the environment variables.", "", [], 0, 1, ctx =>
        {
            var topic = ctx.Args.Positionals.FirstOrDefault();
            var text = topic switch
            {
                null => GeneralUsage(),
                "exit-codes" => ExitCodes.Help,
                "environment" => GlobalOptions.Environment,
                _ => Program.Verbs.FirstOrDefault(v => v.Name == topic)?.Usage()
                     ?? throw new UsageException($"no help on '{topic}'; 'dedup help' lists the verbs"),
            };
            ctx.Out.Write(text.EndsWith('\n') ? text : text + "\n");
            return Task.FromResult(ExitCodes.Ok);
        });

    public static string GeneralUsage()
    {
        var sb = new StringBuilder();
        sb.AppendLine("dedup: encrypted, deduplicating backups to a local folder or an S3 bucket.");
        sb.AppendLine();
        sb.AppendLine("Usage: dedup [global options] VERB [options] [arguments]");
        sb.AppendLine();
        sb.AppendLine("Verbs:");
        foreach (var v in Program.Verbs) sb.AppendLine($"  {v.Name,-10} {v.Summary}");
        sb.AppendLine();
        sb.AppendLine("Global options:");
        Verb.AppendOptions(sb, GlobalOptions.All);
        sb.AppendLine("  -h, --help                 show help; 'dedup VERB --help' for one verb");
        sb.AppendLine();
        sb.AppendLine(GlobalOptions.Environment.TrimEnd());
        sb.AppendLine();
        sb.AppendLine(ExitCodes.Help.TrimEnd());
        return sb.ToString();
    }
}
