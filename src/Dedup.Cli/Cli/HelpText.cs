using System.CommandLine;
using System.Text;

namespace Dedup.Cli.Cli;

/// <summary>
/// Help generated from the command model: usage line, summary, details, options, rules. 'dedup VERB --help',
/// 'dedup help VERB', 'dedup help --json' and the man page all render the same model, so none can drift.
/// </summary>
public static class HelpText
{
    public const string Tagline = "dedup: encrypted, deduplicating backups to a local folder or an S3 bucket.";

    /// <summary>"key add" for the 'add' under 'key'; "" for the root.</summary>
    public static string PathOf(Command command)
    {
        var names = new List<string>();
        for (Symbol? s = command; s is Command c and not RootCommand; s = s.Parents.FirstOrDefault()) names.Insert(0, c.Name);
        return string.Join(' ', names);
    }

    public static string Details(Command command) => command switch
    {
        Verb v => v.Details,
        VerbGroup g => g.Details,
        _ => "",
    };

    /// <summary>"dedup restore SNAPSHOT --target DIR [options]", from the arguments' arities and the required options.</summary>
    public static string Usage(Command command)
    {
        var parts = new List<string> { "dedup", PathOf(command) };
        if (command.Subcommands.Count > 0) parts.Add("COMMAND");
        parts.AddRange(command.Arguments.Select(ArgumentUsage));
        parts.AddRange(command.Options.Where(o => o.Required).Select(o => $"{o.Name} {o.HelpName}"));
        if (command.Options.Any(o => !o.Required)) parts.Add("[options]");
        return string.Join(' ', parts.Where(p => p.Length > 0));
    }

    public static string ArgumentUsage(Argument a)
    {
        var many = a.Arity.MaximumNumberOfValues > 1;
        var text = a.Name + (many ? "..." : "");
        return a.Arity.MinimumNumberOfValues == 0 ? $"[{text}]" : text;
    }

    /// <summary>"-r, --repo URL" as the left column of the option table.</summary>
    public static string OptionName(Option o)
    {
        var shortAlias = o.Aliases.FirstOrDefault(a => a.Length == 2);
        var name = (shortAlias is null ? "    " : shortAlias + ", ") + o.Name;
        return o.Arity.MaximumNumberOfValues == 0 ? name : $"{name} {o.HelpName}";
    }

    public static string OptionHelp(Option o) => o.Description + (IsRepeatable(o) ? " (repeatable)" : "");

    public static bool IsRepeatable(Option o) => o.ValueType.IsArray;

    public static IEnumerable<string> OptionLines(IEnumerable<Option> options) =>
        options.Where(o => !o.Hidden).Select(o => $"  {OptionName(o),-26} {OptionHelp(o)}");

    /// <summary>Help for one verb or group; the root's is the general usage.</summary>
    public static string For(Command command)
    {
        if (command is RootCommand root) return General(root);
        var sb = new StringBuilder();
        sb.AppendLine("Usage: " + Usage(command));
        sb.AppendLine();
        sb.AppendLine(command.Description);
        var details = Details(command);
        if (details.Length > 0)
        {
            sb.AppendLine();
            sb.AppendLine(details);
        }
        if (command.Subcommands.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Commands:");
            foreach (var c in command.Subcommands.Where(c => !c.Hidden)) sb.AppendLine($"  {c.Name,-10} {c.Description}");
        }
        if (command.Arguments.Any(a => !string.IsNullOrEmpty(a.Description)))
        {
            sb.AppendLine();
            sb.AppendLine("Arguments:");
            foreach (var a in command.Arguments) sb.AppendLine($"  {a.Name,-26} {a.Description}");
        }
        var own = command.Options.Where(o => !o.Hidden).ToList();
        if (own.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Options:");
            foreach (var line in OptionLines(own)) sb.AppendLine(line);
        }
        if (command is Verb { Rules.Count: > 0 } verb)
        {
            sb.AppendLine();
            sb.AppendLine("Rules:");
            foreach (var rule in verb.Rules) sb.AppendLine("  " + rule.Message);
        }
        sb.AppendLine();
        sb.AppendLine("Global options:");
        foreach (var line in OptionLines(GlobalOptions.All)) sb.AppendLine(line);
        sb.AppendLine($"  {"-h, --help",-26} show this help");
        return sb.ToString();
    }

    public static string General(RootCommand root)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Tagline);
        sb.AppendLine();
        sb.AppendLine("Usage: dedup [global options] VERB [options] [arguments]");
        sb.AppendLine();
        sb.AppendLine("Verbs:");
        foreach (var v in root.Subcommands.Where(c => !c.Hidden)) sb.AppendLine($"  {v.Name,-10} {v.Description}");
        sb.AppendLine();
        sb.AppendLine("Global options:");
        foreach (var line in OptionLines(GlobalOptions.All)) sb.AppendLine(line);
        sb.AppendLine($"  {"-h, --help",-26} show help; 'dedup VERB --help' for one verb");
        sb.AppendLine();
        sb.AppendLine(GlobalOptions.Environment.TrimEnd());
        sb.AppendLine();
        sb.AppendLine(ExitCodes.Help.TrimEnd());
        sb.AppendLine();
        sb.AppendLine("More: 'dedup help profiles' (config file, hooks), 'dedup help exit-codes', 'dedup help environment'.");
        return sb.ToString();
    }
}
