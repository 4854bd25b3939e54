using System.CommandLine;
using System.Text;
using Dedup.Cli.Profiles;

namespace Dedup.Cli.Cli;

/// <summary>
/// dedup(1) in roff, rendered from the same command model as the help, so that 'man dedup' and 'dedup help VERB'
/// say the same thing: every verb's usage, summary, details, options and rules.
/// </summary>
public static class ManPage
{
    public static string Render(RootCommand root, string version)
    {
        var sb = new StringBuilder();
        sb.AppendLine($".TH DEDUP 1 \"\" \"dedup {Escape(version)}\" \"User Commands\"");
        sb.AppendLine(".SH NAME");
        sb.AppendLine(@"dedup \- encrypted, deduplicating backups to a local folder or an S3 bucket");
        sb.AppendLine(".SH SYNOPSIS");
        sb.AppendLine(".B dedup");
        sb.AppendLine("[global options] VERB [options] [arguments]");
        sb.AppendLine(".SH DESCRIPTION");
        sb.AppendLine("Dedup stores content-defined chunks once, compressed and encrypted, in a repository of immutable objects.");
        sb.AppendLine("Backup hosts need only credentials that add objects; pruning runs on a separate admin host.");
        sb.AppendLine(".SH GLOBAL OPTIONS");
        Options(sb, GlobalOptions.All);
        sb.AppendLine(".TP");
        sb.AppendLine(@".B \-h, \-\-help");
        sb.AppendLine("show help; 'dedup VERB \\-\\-help' for one verb");
        sb.AppendLine(".SH VERBS");
        foreach (var command in Commands(root)) Verb(sb, command);
        Preformatted(sb, "PROFILES", ConfigFile.Help);
        Preformatted(sb, "ENVIRONMENT", GlobalOptions.Environment);
        Preformatted(sb, "EXIT STATUS", ExitCodes.Help);
        sb.AppendLine(".SH SEE ALSO");
        sb.AppendLine("The repository format: spec/repository\\-format.md in the source.");
        return sb.ToString();
    }

    /// <summary>Every command below the root, parents before their sub-commands.</summary>
    public static IEnumerable<Command> Commands(Command parent)
    {
        foreach (var c in parent.Subcommands.Where(c => !c.Hidden))
        {
            yield return c;
            foreach (var sub in Commands(c)) yield return sub;
        }
    }

    private static void Verb(StringBuilder sb, Command command)
    {
        sb.AppendLine(".SS " + Escape(HelpText.Usage(command)));
        sb.AppendLine(Escape(command.Description ?? ""));
        var details = HelpText.Details(command);
        if (details.Length > 0)
        {
            sb.AppendLine(".PP");
            sb.AppendLine(".nf");
            foreach (var line in details.Split('\n')) sb.AppendLine(Escape(line.TrimEnd('\r')));
            sb.AppendLine(".fi");
        }
        foreach (var a in command.Arguments.Where(a => !string.IsNullOrEmpty(a.Description)))
        {
            sb.AppendLine(".TP");
            sb.AppendLine(".I " + Escape(a.Name));
            sb.AppendLine(Escape(a.Description!));
        }
        Options(sb, command.Options.Where(o => !o.Hidden));
        if (command is Verb { Rules.Count: > 0 } verb)
        {
            sb.AppendLine(".PP");
            sb.AppendLine("Rules:");
            foreach (var rule in verb.Rules)
            {
                sb.AppendLine(".br");
                sb.AppendLine(Escape(rule.Message));
            }
        }
    }

    private static void Options(StringBuilder sb, IEnumerable<Option> options)
    {
        foreach (var o in options)
        {
            sb.AppendLine(".TP");
            sb.AppendLine(".B " + Escape(HelpText.OptionName(o).Trim()));
            sb.AppendLine(Escape(HelpText.OptionHelp(o)));
        }
    }

    private static void Preformatted(StringBuilder sb, string section, string text)
    {
        sb.AppendLine(".SH " + section);
        sb.AppendLine(".nf");
        foreach (var line in text.TrimEnd().Split('\n')) sb.AppendLine(Escape(line.TrimEnd('\r')));
        sb.AppendLine(".fi");
    }

    /// <summary>Backslashes and hyphens escaped; a line starting with '.' or '\'' would be a request.</summary>
    public static string Escape(string text)
    {
        var s = text.Replace("\\", "\\e", StringComparison.Ordinal).Replace("-", "\\-", StringComparison.Ordinal);
        return s.StartsWith('.') || s.StartsWith('\'') ? "\\&" + s : s;
    }

    /// <summary>The text a reader sees, for tests: the escapes undone.</summary>
    public static string Unescape(string roff) =>
        roff.Replace("\\&", "", StringComparison.Ordinal).Replace("\\-", "-", StringComparison.Ordinal).Replace("\\e", "\\", StringComparison.Ordinal);
}
