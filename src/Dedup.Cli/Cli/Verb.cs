using System.CommandLine;
using System.CommandLine.Parsing;

namespace Dedup.Cli.Cli;

/// <summary>A command-line mistake: exit code 2, one line, and a pointer to the verb's help.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// An option (or the arguments) that may not be given with any of <see cref="Others"/> (exclusive), or only with one
/// of them. Declared once on the verb: the parser enforces it, the help prints it, and the parser tests try each one.
/// </summary>
public sealed record OptionRule(Symbol First, IReadOnlyList<Symbol> Others, bool Exclusive, string Message)
{
    public bool Violated(SymbolResult parse) => Given(parse, First) && Others.Any(o => Given(parse, o)) == Exclusive;

    public static bool Given(SymbolResult parse, Symbol symbol) => symbol switch
    {
        Option o => parse.GetResult(o) is { Implicit: false },
        Argument a => parse.GetResult(a) is { Tokens.Count: > 0 },
        _ => false,
    };
}

/// <summary>
/// A verb: a System.CommandLine command whose options are typed fields of the subclass, plus what it does. Adding a
/// verb is one file: the class (options, rules, help, result records) and its line in <see cref="Verbs.All"/>.
/// </summary>
public abstract class Verb : Command
{
    private readonly List<OptionRule> _rules = [];

    protected Verb(string name, string summary, string details = "") : base(name, summary)
    {
        Details = details.Trim();
        Validators.Add(result =>
        {
            foreach (var rule in _rules.Where(r => r.Violated(result))) result.AddError(rule.Message);
        });
    }

    /// <summary>Help paragraphs after the summary: semantics, examples.</summary>
    public string Details { get; }

    public IReadOnlyList<OptionRule> Rules => _rules;

    /// <summary>Runs the verb once the command line parsed and every rule held.</summary>
    public abstract Task<int> RunAsync(CliContext ctx);

    protected T Add<T>(T option) where T : Option
    {
        Options.Add(option);
        return option;
    }

    protected Argument<T> Arg<T>(string name, string help, ArgumentArity arity)
    {
        var a = new Argument<T>(name) { Description = help, Arity = arity };
        Arguments.Add(a);
        return a;
    }

    /// <summary>Refuses the two together ("give either --no-cache or --cache-dir, not both").</summary>
    protected void NotTogether(Symbol first, Symbol second, string? message = null) =>
        _rules.Add(new OptionRule(first, [second], true, message ?? $"give either {Display(first)} or {Display(second)}, not both"));

    /// <summary>Refuses <paramref name="first"/> with any of <paramref name="others"/>.</summary>
    protected void NotWithAny(Symbol first, IReadOnlyList<Symbol> others, string message) => _rules.Add(new OptionRule(first, others, true, message));

    /// <summary>Refuses <paramref name="option"/> without <paramref name="required"/> ("--stdin-filename only goes with --stdin").</summary>
    protected void OnlyWith(Option option, Symbol required, string? message = null) =>
        _rules.Add(new OptionRule(option, [required], false, message ?? $"{option.Name} only goes with {Display(required)}"));

    public static string Display(Symbol s) => s is Argument a ? a.Name : s.Name;
}

/// <summary>A verb made of sub-verbs ('key list', 'repair index'); given alone it lists them.</summary>
public sealed class VerbGroup : Command
{
    public VerbGroup(string name, string summary, string details, params Verb[] verbs) : base(name, summary)
    {
        Details = details.Trim();
        foreach (var v in verbs) Subcommands.Add(v);
    }

    public string Details { get; }
}
