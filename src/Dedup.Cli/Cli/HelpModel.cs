using System.CommandLine;

namespace Dedup.Cli.Cli;

/// <summary>'dedup help --json': the command model as data, for tools and for the tests that check help against the parser.</summary>
public sealed record HelpModel(IReadOnlyList<OptionModel> GlobalOptions, IReadOnlyList<CommandModel> Commands)
{
    public static HelpModel Of(RootCommand root) => new(
        Cli.GlobalOptions.All.Select(OptionModel.Of).ToList(),
        ManPage.Commands(root).Select(CommandModel.Of).ToList());
}

public sealed record CommandModel(
    string Name, string Summary, string Usage, string Details, IReadOnlyList<string> Commands, IReadOnlyList<ArgumentModel> Arguments,
    IReadOnlyList<OptionModel> Options, IReadOnlyList<string> Rules)
{
    public static CommandModel Of(Command c) => new(
        HelpText.PathOf(c), c.Description ?? "", HelpText.Usage(c), HelpText.Details(c), c.Subcommands.Select(s => s.Name).ToList(),
        c.Arguments.Select(a => new ArgumentModel(a.Name, a.Description ?? "", a.Arity.MinimumNumberOfValues, a.Arity.MaximumNumberOfValues)).ToList(),
        c.Options.Where(o => !o.Hidden).Select(OptionModel.Of).ToList(),
        c is Verb v ? v.Rules.Select(r => r.Message).ToList() : []);
}

public sealed record ArgumentModel(string Name, string Description, int Min, int Max);

/// <summary>Value is null for a flag.</summary>
public sealed record OptionModel(string Name, IReadOnlyList<string> Aliases, string? Value, string Help, bool Repeatable, bool Required)
{
    public static OptionModel Of(Option o) => new(
        o.Name, o.Aliases.ToList(), o.Arity.MaximumNumberOfValues == 0 ? null : o.HelpName, o.Description ?? "", HelpText.IsRepeatable(o), o.Required);
}
