using System.CommandLine;
using Dedup.Cli.Cli;
using Dedup.Cli.Profiles;

namespace Dedup.Cli.Commands;

public sealed class VersionCommand() : Verb("version", "Print the version of dedup.")
{
    public static string ProgramVersion => typeof(VersionCommand).Assembly.GetName().Version?.ToString(3) ?? "0";

    public override Task<int> RunAsync(CliContext ctx)
    {
        if (ctx.Json) ctx.WriteJson(new VersionInfo(ProgramVersion, Environment.Version.ToString(), Build), CliJson.Default.VersionInfo);
        else ctx.Out.WriteLine($"dedup {ProgramVersion} (.NET {Environment.Version}, {Build})");
        return Task.FromResult(ExitCodes.Ok);
    }

    /// <summary>"native" for the ahead-of-time compiled binary, "jit" when a .NET runtime runs dedup.dll.</summary>
    public static string Build => System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "jit" : "native";
}

public sealed record VersionInfo(string Version, string Runtime, string Build);

public sealed class HelpCommand : Verb
{
    private readonly Argument<string[]> _topic;
    private readonly Option<bool> _man = Opt.Flag("man", "print the manual page (roff) of every verb: dedup help --man | man -l -");

    public HelpCommand() : base("help", "Show the list of verbs, one verb's help, the exit codes, the environment or the profiles.",
        "Topics: a verb ('backup', 'key add'), exit-codes, environment, profiles. With --json, the whole command model.")
    {
        _topic = Arg<string[]>("TOPIC", "a verb, exit-codes, environment or profiles", ArgumentArity.ZeroOrMore);
        Add(_man);
        NotTogether(_man, _topic);
    }

    public override Task<int> RunAsync(CliContext ctx)
    {
        var root = CommandLine.Root;
        if (ctx.Get(_man))
        {
            ctx.Out.Write(ManPage.Render(root, VersionCommand.ProgramVersion));
            return Task.FromResult(ExitCodes.Ok);
        }
        if (ctx.Json)
        {
            ctx.WriteJson(HelpModel.Of(root), CliJson.Default.HelpModel);
            return Task.FromResult(ExitCodes.Ok);
        }
        var topic = ctx.Get(_topic) ?? [];
        var text = topic switch
        {
            [] => HelpText.General(root),
            ["exit-codes"] => ExitCodes.Help,
            ["environment"] => GlobalOptions.Environment,
            ["profiles"] => ConfigFile.Help,
            _ => FindCommand(root, topic) is { } command ? HelpText.For(command)
                : throw new UsageException($"no help on '{string.Join(' ', topic)}'; 'dedup help' lists the verbs"),
        };
        ctx.Out.Write(text.EndsWith('\n') ? text : text + "\n");
        return Task.FromResult(ExitCodes.Ok);
    }

    private static Command? FindCommand(Command root, IEnumerable<string> path)
    {
        Command? current = root;
        foreach (var name in path) current = current?.Subcommands.FirstOrDefault(c => c.Name == name);
        return current;
    }
}
