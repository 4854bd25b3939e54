using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Dedup.Archiver.Backup;
using Dedup.Maintenance;

namespace Dedup.Cli.Cli;

/// <summary>
/// Builds the typed options verbs declare, so that a name, its value's placeholder, its help and its validation are
/// written once: the parser, the help, the man page and the completions all read them from here.
/// </summary>
public static class Opt
{
    /// <summary>An option without a value ("--json"); "--json=true" is refused rather than read as a path.</summary>
    public static Option<bool> Flag(string name, string help, char? alias = null) =>
        new("--" + name, Aliases(alias)) { Description = help, Arity = ArgumentArity.Zero };

    /// <summary>An option with one value; given twice it is a usage error.</summary>
    public static Option<string> Text(string name, string value, string help, char? alias = null) =>
        new("--" + name, Aliases(alias)) { Description = help, HelpName = value };

    /// <summary>A repeatable option: every "--NAME VALUE" adds one value.</summary>
    public static Option<string[]> List(string name, string value, string help, char? alias = null) =>
        new("--" + name, Aliases(alias)) { Description = help, HelpName = value, AllowMultipleArgumentsPerToken = false };

    /// <summary>A whole number within [min, max]; anything else is refused with the range.</summary>
    public static Option<int?> Int(string name, string value, int min, int max, string help, char? alias = null) =>
        new("--" + name, Aliases(alias)) { Description = help, HelpName = value, CustomParser = r => ParseInt(r, "--" + name, min, max) };

    /// <summary>A duration such as 48h, 7d or 1d12h (see <see cref="RetentionPolicy.ParseDuration"/>).</summary>
    public static Option<TimeSpan?> Duration(string name, string help) =>
        new("--" + name) { Description = help, HelpName = "DURATION", CustomParser = r => ParseDuration(r, "--" + name) };

    /// <summary>A transfer rate in KiB/s, as restic's --limit-upload takes it; the value is bytes per second.</summary>
    public static Option<long?> Rate(string name, string help) =>
        new("--" + name) { Description = help, HelpName = "RATE", CustomParser = r => ParseRate(r, "--" + name) };

    /// <summary>A size such as 500k or 2G (<see cref="ByteSize.Parse"/>), in bytes.</summary>
    public static Option<long?> Size(string name, string value, string help) =>
        new("--" + name) { Description = help, HelpName = value, CustomParser = r => ParseSize(r, "--" + name) };

    /// <summary>One of a fixed set of words; the set is offered as completions and named in the error.</summary>
    public static Option<string> OneOf(string name, string help, params string[] values)
    {
        var o = new Option<string>("--" + name) { Description = help, HelpName = string.Join('|', values) };
        o.AcceptOnlyFromAmong(values);
        return o;
    }

    /// <summary>
    /// One of a fixed set of words, whose value may be left out ("--overwrite" alone means <paramref name="bare"/>). The
    /// parser takes the next word as the value if it can, so a following word that is not one of the set (a snapshot
    /// ID, say) is refused with what to write instead: System.CommandLine cannot give an option's token back.
    /// </summary>
    public static Option<string> OneOfOrBare(string name, string help, string bare, params string[] values) =>
        new("--" + name)
        {
            Description = help,
            HelpName = string.Join('|', values),
            Arity = ArgumentArity.ZeroOrOne,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return bare;
                var value = r.Tokens[0].Value;
                if (values.Contains(value, StringComparer.Ordinal)) return value;
                r.AddError($"--{name} takes {string.Join(", ", values)} or nothing, not '{value}'; "
                           + $"write '--{name} {bare}' or put --{name} after the other arguments");
                return null;
            },
        };

    public static int? ParseInt(ArgumentResult r, string name, int min, int max)
    {
        var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max) return n;
        r.AddError($"{name} takes a whole number from {min} to {max}, not '{text}'");
        return null;
    }

    /// <summary>KiB/s (a whole number from 1 to 2^40), returned as bytes per second.</summary>
    public static long? ParseRate(ArgumentResult r, string name)
    {
        var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var kib) && kib is >= 1 and <= 1L << 40) return kib * 1024;
        r.AddError($"{name} takes a rate in KiB/s, a whole number from 1 (e.g. {name} 1024 for 1 MiB/s), not '{text}'");
        return null;
    }

    public static long? ParseSize(ArgumentResult r, string name)
    {
        var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
        try
        {
            return ByteSize.Parse(text);
        }
        catch (ArgumentException e)
        {
            r.AddError($"{name}: {e.Message.TrimEnd('.')}");
            return null;
        }
    }

    public static TimeSpan? ParseDuration(ArgumentResult r, string name)
    {
        var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
        try
        {
            return RetentionPolicy.ParseDuration(text);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            r.AddError($"{name}: {e.Message}");
            return null;
        }
    }

    /// <summary>True when the option appeared on the command line (not merely defaulted).</summary>
    public static bool Given(this ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    private static string[] Aliases(char? alias) => alias is { } c ? ["-" + c] : [];
}
