using System.CommandLine;
using System.CommandLine.Parsing;

namespace Dedup.Cli.Cli;

/// <summary>
/// The command tree (System.CommandLine) and the few rules it needs on top: GNU-style "--opt value", "--opt=value",
/// "-o value", repeatable options, "--" ending options, global options before or after the verb. No response files
/// ("@file" is a path to back up, not a list of arguments), no directives, and an option the verb does not know is
/// an error, never a path.
/// </summary>
public static class CommandLine
{
    public static readonly ParserConfiguration Config = new() { ResponseFileTokenReplacer = null };

    public static RootCommand Root { get; } = Build();

    private static RootCommand Build()
    {
        var root = new RootCommand(HelpText.Tagline);
        root.Options.Clear();
        root.Directives.Clear();
        root.Options.Add(GlobalOptions.Help);
        foreach (var o in GlobalOptions.All) root.Options.Add(o);
        foreach (var verb in Verbs.All) root.Subcommands.Add(verb);
        return root;
    }

    public static ParseResult Parse(IReadOnlyList<string> args) => Root.Parse(args, Config);

    public static bool HelpRequested(ParseResult parse) => parse.GetResult(GlobalOptions.Help) is not null;

    /// <summary>
    /// The verb to run. A mistake throws a <see cref="UsageException"/> that says what is wrong and where the help is;
    /// null means no verb was given at all (the caller prints the general usage).
    /// </summary>
    public static Verb? VerbToRun(ParseResult parse, IReadOnlyList<string> args)
    {
        var command = parse.CommandResult.Command;
        var path = HelpText.PathOf(command);
        var hint = command is RootCommand ? "'dedup help' lists the verbs" : $"see 'dedup {path} --help'";
        CheckFlagValues(args, command, hint);
        CheckUnknownOptions(parse, command, hint);
        if (command is RootCommand)
        {
            if (parse.UnmatchedTokens.Count > 0) throw new UsageException($"unknown verb '{parse.UnmatchedTokens[0]}'; {hint}");
            if (parse.Errors.Count > 0 && parse.Errors.Any(e => e.SymbolResult is OptionResult))
                throw new UsageException($"{Clean(parse.Errors.First(e => e.SymbolResult is OptionResult).Message)}; {hint}");
            return null;
        }
        if (command is VerbGroup group)
        {
            var names = string.Join(", ", group.Subcommands.Select(c => c.Name));
            throw new UsageException(parse.UnmatchedTokens.Count > 0
                ? $"unknown command '{path} {parse.UnmatchedTokens[0]}': use {names}; {hint}"
                : $"'dedup {path}' needs a command: {names}; {hint}");
        }
        if (parse.Errors.Count > 0) throw new UsageException($"{Clean(parse.Errors[0].Message)}; {hint}");
        return command as Verb ?? throw new UsageException($"'dedup {path}' is not a verb; {hint}");
    }

    /// <summary>"--json=true": System.CommandLine would take "true" as the next argument (a path to back up).</summary>
    private static void CheckFlagValues(IReadOnlyList<string> args, Command command, string hint)
    {
        var inScope = OptionsInScope(command).ToList();
        foreach (var arg in args.TakeWhile(a => a != "--"))
        {
            var eq = arg.IndexOf('=');
            if (!arg.StartsWith("--", StringComparison.Ordinal) || eq < 0) continue;
            var name = arg[..eq];
            if (inScope.FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name)) is { Arity.MaximumNumberOfValues: 0 })
                throw new UsageException($"{name} is a flag and takes no value; {hint}");
        }
    }

    /// <summary>An argument that looks like an option, before "--", is an unknown option, not a path.</summary>
    private static void CheckUnknownOptions(ParseResult parse, Command command, string hint)
    {
        var tokens = parse.Tokens;
        var end = tokens.Select((t, i) => (t, i)).FirstOrDefault(x => x.t.Type == TokenType.DoubleDash, (null!, tokens.Count)).Item2;
        var argumentTokens = command.Arguments.SelectMany(a => parse.GetResult(a)?.Tokens ?? []).ToList();
        for (int i = 0; i < end; i++)
        {
            var t = tokens[i];
            if (t.Type != TokenType.Argument || t.Value.Length < 2 || t.Value[0] != '-') continue;
            if (argumentTokens.Any(a => ReferenceEquals(a, t)) || parse.UnmatchedTokens.Contains(t.Value))
                throw new UsageException($"unknown option '{t.Value.Split('=')[0]}'; {hint}");
        }
    }

    /// <summary>The command's own options and the recursive ones of its ancestors.</summary>
    public static IEnumerable<Option> OptionsInScope(Command command)
    {
        foreach (var o in command.Options) yield return o;
        for (var parent = command.Parents.OfType<Command>().FirstOrDefault(); parent is not null; parent = parent.Parents.OfType<Command>().FirstOrDefault())
            foreach (var o in parent.Options.Where(o => o.Recursive)) yield return o;
    }

    /// <summary>One line: System.CommandLine lists allowed values on lines of their own.</summary>
    private static string Clean(string message) => string.Join(' ', message.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(p => p.Trim())).TrimEnd('.');
}
