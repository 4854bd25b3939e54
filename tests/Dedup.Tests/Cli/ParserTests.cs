using System.CommandLine;
using System.Text.RegularExpressions;
using Dedup.Cli;
using Dedup.Cli.Cli;
using Xunit;

namespace Dedup.Tests.Cli;

/// <summary>
/// The command model against its help and its rules, in process: every option the help shows is one the parser
/// takes (and the other way round), every declared rule refuses what it says, and the parser's own rules (unknown
/// options, flag values, response files) hold for every verb.
/// </summary>
public sealed class ParserTests
{
    public static TheoryData<string> CommandPaths()
    {
        var data = new TheoryData<string>();
        foreach (var c in ManPage.Commands(CommandLine.Root)) data.Add(HelpText.PathOf(c));
        return data;
    }

    private static Command Find(string path) =>
        ManPage.Commands(CommandLine.Root).Single(c => HelpText.PathOf(c) == path);

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public void Help_ListsExactlyTheOptionsTheParserTakes(string path)
    {
        var command = Find(path);
        var help = HelpText.For(command);
        var sections = SplitSections(help);

        var shownOwn = OptionNames(sections.GetValueOrDefault("Options:", ""));
        var declared = command.Options.Where(o => !o.Hidden).Select(o => o.Name).ToHashSet();
        Assert.Equal(declared.Order(), shownOwn.Order());
        var shownGlobal = OptionNames(sections["Global options:"]);
        Assert.Equal(GlobalOptions.All.Select(o => o.Name).Append("--help").Order(), shownGlobal.Order());

        // Each row shows the short alias, the value placeholder of an option that takes one, and the description.
        foreach (var o in command.Options.Concat(GlobalOptions.All))
        {
            var rows = sections.GetValueOrDefault("Options:", "") + sections["Global options:"];
            var row = rows.Split('\n').Single(l => Regex.IsMatch(l, $@"^\s+(-\w, )?{Regex.Escape(o.Name)}( |$)"));
            Assert.Contains(o.Description!, row);
            if (o.Arity.MaximumNumberOfValues > 0) Assert.Contains($"{o.Name} {o.HelpName}", row);
            foreach (var alias in o.Aliases) Assert.Contains(alias + ",", row);
        }
        if (command is Verb verb)
            foreach (var rule in verb.Rules) Assert.Contains(rule.Message, sections["Rules:"]);
        Assert.StartsWith("Usage: dedup " + path, help);
    }

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public void EveryOptionInTheHelp_ParsesWithASampleValue(string path)
    {
        var command = Find(path);
        if (command is not Verb verb) return;
        foreach (var o in verb.Options.Where(o => !o.Hidden))
        {
            var args = Required(verb, o).Concat(Give(o)).ToList();
            var parse = CommandLine.Parse(args);
            var error = Record.Exception(() => CommandLine.VerbToRun(parse, args));
            // A rule may refuse the option alone (--stdin-filename without --stdin); that is the rule's message, not a parse error.
            if (error is not null) Assert.Contains(verb.Rules, r => error.Message.StartsWith(r.Message, StringComparison.Ordinal));
            Assert.True(parse.Given(o), $"{string.Join(' ', args)}: {o.Name} was not parsed");
        }
    }

    public static TheoryData<string, int> Rules()
    {
        var data = new TheoryData<string, int>();
        foreach (var verb in ManPage.Commands(CommandLine.Root).OfType<Verb>())
            for (int i = 0; i < verb.Rules.Count; i++) data.Add(HelpText.PathOf(verb), i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Rules))]
    public void EveryRule_RefusesWhatItSays_AndAllowsTheRest(string path, int index)
    {
        var verb = (Verb)Find(path);
        var rule = verb.Rules[index];
        var broken = Build(verb, rule.First, rule.Exclusive ? rule.Others[0] : null);
        var refused = Assert.Throws<UsageException>(() => CommandLine.VerbToRun(CommandLine.Parse(broken), broken));
        Assert.StartsWith(rule.Message + "; see 'dedup " + path + " --help'", refused.Message);

        var kept = rule.Exclusive ? Build(verb, rule.First, null) : Build(verb, rule.First, rule.Others[0]);
        var other = Record.Exception(() => CommandLine.VerbToRun(CommandLine.Parse(kept), kept));
        Assert.True(other is null || !other.Message.StartsWith(rule.Message, StringComparison.Ordinal), $"{string.Join(' ', kept)}: {other?.Message}");
    }

    [Theory]
    [InlineData("backup --no-such-option /x", "unknown option '--no-such-option'; see 'dedup backup --help'")]
    [InlineData("snapshots --bogus=3", "unknown option '--bogus'; see 'dedup snapshots --help'")]
    [InlineData("frobnicate", "unknown verb 'frobnicate'; 'dedup help' lists the verbs")]
    [InlineData("backup --json=true /x", "--json is a flag and takes no value")]
    [InlineData("backup --one-file-system=yes /x", "--one-file-system is a flag and takes no value")]
    [InlineData("forget --keep-last -1", "--keep-last takes a whole number from 0 to 2147483647, not '-1'")]
    [InlineData("forget --keep-last 1 --keep-last 2", "Option '--keep-last' expects a single argument but 2 were provided")]
    [InlineData("--s3-connections 300 snapshots", "--s3-connections takes a whole number from 1 to 256, not '300'")]
    [InlineData("prune --grace soon", "--grace: ")]
    [InlineData("prune --max-unused 150%", "--max-unused: '150%' is not a budget: a percentage takes a number from 0 to 100 (for example 5%)")]
    [InlineData("prune --max-unused lots", "--max-unused: 'lots' is not a budget: give a percentage (5%), a size (100M, 100MiB, 2G) or 'unlimited'")]
    [InlineData("prune --max-repack-size 2X", "--max-repack-size: '2X' is not a size")]
    [InlineData("key", "'dedup key' needs a command: list, add, remove, passwd")]
    [InlineData("key frob", "unknown command 'key frob': use list, add, remove, passwd")]
    [InlineData("restore latest", "Option '--target' is required")]
    [InlineData("policy --bucket b --role root", "Argument 'root' not recognized. Must be one of")]
    [InlineData("snapshots extra", "Unrecognized command or argument 'extra'")]
    [InlineData("--limit-upload 0 snapshots", "--limit-upload takes a rate in KiB/s, a whole number from 1")]
    [InlineData("snapshots --limit-download 1.5", "--limit-download takes a rate in KiB/s")]
    [InlineData("backup --exclude-larger-than 5X /x", "--exclude-larger-than: '5X' is not a size")]
    [InlineData("backup --stdin --files-from list", "give either --stdin or --files-from lists, not both")]
    [InlineData("doctor --expect root", "Argument 'root' not recognized. Must be one of")]
    [InlineData("key add --group web", "--group is for write-only keys (--write-only)")]
    [InlineData("key add --enroll web1.enrol", "--enroll is for write-only keys (--write-only)")]
    [InlineData("status --churn-factor 1", "--churn-factor takes a number above 1, not '1'")]
    [InlineData("status --churn-factor many", "--churn-factor takes a number above 1, not 'many'")]
    [InlineData("status --stale soon", "--stale: ")]
    public void CommandLineMistakes_AreUsageErrors_ThatSayWhatIsWrong(string line, string message)
    {
        var args = line.Split(' ');
        var e = Assert.Throws<UsageException>(() => CommandLine.VerbToRun(CommandLine.Parse(args), args));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Arguments_ThatLookLikeResponseFilesOrOptionsAfterDoubleDash_ArePaths()
    {
        string[] args = ["backup", "@not-a-response-file", "--", "-dash-file", "--json"];
        var parse = CommandLine.Parse(args);
        var verb = CommandLine.VerbToRun(parse, args);
        Assert.Equal("backup", verb!.Name);
        var paths = parse.GetValue((Argument<string[]>)verb.Arguments[0]);
        Assert.Equal(["@not-a-response-file", "-dash-file", "--json"], paths!);
        Assert.False(parse.GetValue(GlobalOptions.Json));
    }

    [Fact]
    public void GlobalOptions_GoBeforeOrAfterTheVerb_AndRepeatableOptionsKeepEveryValue()
    {
        string[] args = ["-r", "/repo", "backup", "--tag", "a,b", "--tag", "c", "-e", "*.tmp", "/x", "--json", "-q"];
        var parse = CommandLine.Parse(args);
        var verb = CommandLine.VerbToRun(parse, args)!;
        Assert.Equal("/repo", parse.GetValue(GlobalOptions.Repo));
        Assert.True(parse.GetValue(GlobalOptions.Json));
        Assert.True(parse.GetValue(GlobalOptions.Quiet));
        var tag = (Option<string[]>)verb.Options.Single(o => o.Name == "--tag");
        Assert.Equal(["a,b", "c"], parse.GetValue(tag)!);
    }

    [Fact]
    public void ResticsShortFlags_MeanTheirLongOptions()
    {
        string[] forget = ["forget", "-l", "1", "-H", "2", "-d", "3", "-w", "4", "-m", "5", "-y", "6", "-n"];
        var parse = CommandLine.Parse(forget);
        var verb = CommandLine.VerbToRun(parse, forget)!;
        int? Keep(string name) => parse.GetValue((Option<int?>)verb.Options.Single(o => o.Name == "--keep-" + name));
        Assert.Equal([1, 2, 3, 4, 5, 6], new[] { "last", "hourly", "daily", "weekly", "monthly", "yearly" }.Select(Keep));
        Assert.True(parse.GetValue((Option<bool>)verb.Options.Single(o => o.Name == "--dry-run")));

        string[] backup = ["backup", "-n", "-x", "/x", "--exclude-larger-than", "2M", "--limit-upload", "512"];
        parse = CommandLine.Parse(backup);
        verb = CommandLine.VerbToRun(parse, backup)!;
        Assert.True(parse.GetValue((Option<bool>)verb.Options.Single(o => o.Name == "--dry-run")));
        Assert.True(parse.GetValue((Option<bool>)verb.Options.Single(o => o.Name == "--one-file-system")));
        Assert.Equal(2L << 20, parse.GetValue((Option<long?>)verb.Options.Single(o => o.Name == "--exclude-larger-than")));
        Assert.Equal(512L * 1024, parse.GetValue(GlobalOptions.LimitUpload)); // KiB/s, as restic
    }

    [Fact]
    public void PutOnlyOptions_ParseToTheirTypedValues()
    {
        string[] enroll = ["--enrollment", "/etc/dedup/web1.enrol", "backup", "/srv"];
        var parse = CommandLine.Parse(enroll);
        Assert.Equal("backup", CommandLine.VerbToRun(parse, enroll)!.Name);
        Assert.Equal("/etc/dedup/web1.enrol", parse.GetValue(GlobalOptions.Enrollment));

        string[] status = ["status", "--stale", "2d", "--churn-factor", "4.5", "--prometheus", "/var/lib/node/dedup.prom", "--json"];
        parse = CommandLine.Parse(status);
        var verb = CommandLine.VerbToRun(parse, status)!;
        Assert.Equal(TimeSpan.FromDays(2), parse.GetValue((Option<TimeSpan?>)verb.Options.Single(o => o.Name == "--stale")));
        Assert.Equal(4.5, parse.GetValue((Option<double?>)verb.Options.Single(o => o.Name == "--churn-factor")));
        Assert.Equal("/var/lib/node/dedup.prom", parse.GetValue((Option<string>)verb.Options.Single(o => o.Name == "--prometheus")));
        Assert.True(parse.GetValue(GlobalOptions.Json));

        string[] policy = ["policy", "--bucket", "b", "--role", "put-only", "--with-list", "--with-multipart"];
        parse = CommandLine.Parse(policy);
        verb = CommandLine.VerbToRun(parse, policy)!;
        Assert.True(parse.GetValue((Option<bool>)verb.Options.Single(o => o.Name == "--with-list")));
        Assert.True(parse.GetValue((Option<bool>)verb.Options.Single(o => o.Name == "--with-multipart")));

        string[] key = ["key", "add", "--write-only", "--host", "web1", "--enroll", "web1.enrol"];
        parse = CommandLine.Parse(key);
        verb = CommandLine.VerbToRun(parse, key)!;
        Assert.Equal("web1.enrol", parse.GetValue((Option<string>)verb.Options.Single(o => o.Name == "--enroll")));
    }

    [Fact]
    public void NoVerb_MeansTheGeneralUsage()
    {
        string[] args = ["--json"];
        Assert.Null(CommandLine.VerbToRun(CommandLine.Parse(args), args));
        Assert.True(CommandLine.HelpRequested(CommandLine.Parse(["backup", "--help"])));
        Assert.True(CommandLine.HelpRequested(CommandLine.Parse(["-h"])));
    }

    [Fact]
    public void GeneralHelp_ListsEveryVerb_AndTheExitCodes()
    {
        var help = HelpText.General(CommandLine.Root);
        foreach (var verb in Verbs.All) Assert.Matches($@"(?m)^  {Regex.Escape(verb.Name)} +{Regex.Escape(verb.Description!)}$", help);
        foreach (var code in new[] { 0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 130 }) Assert.Matches($@"(?m)^  {code} +\S", help);
    }

    [Fact]
    public void ManPage_SaysWhatTheHelpSays()
    {
        var man = ManPage.Unescape(ManPage.Render(CommandLine.Root, "1.2.3"));
        Assert.StartsWith(".TH DEDUP 1", man);
        foreach (var command in ManPage.Commands(CommandLine.Root))
        {
            Assert.Contains(".SS " + HelpText.Usage(command) + "\n" + command.Description + "\n", man);
            foreach (var line in HelpText.Details(command).Split('\n')) Assert.Contains(line.TrimEnd() + "\n", man);
            foreach (var o in command.Options)
                Assert.Contains($".TP\n.B {HelpText.OptionName(o).Trim()}\n{HelpText.OptionHelp(o)}\n", man);
        }
        foreach (var o in GlobalOptions.All) Assert.Contains($".B {HelpText.OptionName(o).Trim()}\n{HelpText.OptionHelp(o)}\n", man);
    }

    [Fact]
    public void ManPage_EscapesWhatRoffWouldRead()
    {
        Assert.Equal(@"\-\-json", ManPage.Escape("--json"));
        Assert.Equal(@"\&.dot first", ManPage.Escape(".dot first"));
        Assert.Equal(@"a\eb", ManPage.Escape(@"a\b"));
        Assert.Equal(@"a\b -x", ManPage.Unescape(ManPage.Escape(@"a\b -x")));
    }

    /// <summary>"Options:" → its lines, and so on for each section of a help text.</summary>
    private static Dictionary<string, string> SplitSections(string help)
    {
        var sections = new Dictionary<string, string>();
        string? current = null;
        foreach (var line in help.Split('\n'))
        {
            if (Regex.IsMatch(line, @"^[A-Z][a-z ]+:$")) sections[current = line] = "";
            else if (line.Length == 0) current = null;
            else if (current is not null) sections[current] += line + "\n";
        }
        return sections;
    }

    private static List<string> OptionNames(string section) =>
        section.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => Regex.Match(l, @"--[a-z0-9-]+").Value).ToList();

    /// <summary>The verb's path, its required arguments and its required options (but <paramref name="except"/>) with sample values.</summary>
    private static IEnumerable<string> Required(Command verb, params Symbol?[] except)
    {
        foreach (var name in HelpText.PathOf(verb).Split(' ')) yield return name;
        foreach (var a in verb.Arguments.Where(a => a.Arity.MinimumNumberOfValues > 0)) yield return "x";
        foreach (var o in verb.Options.Where(o => o.Required && !except.Contains(o)))
            foreach (var token in Give(o)) yield return token;
    }

    /// <summary>A command line giving <paramref name="first"/> and <paramref name="second"/> (when not null), and what the verb requires.</summary>
    private static List<string> Build(Verb verb, Symbol first, Symbol? second)
    {
        var args = Required(verb, first, second).ToList();
        foreach (var s in new[] { first, second })
        {
            if (s is Option o) args.AddRange(Give(o));
            else if (s is Argument { Arity.MinimumNumberOfValues: 0 }) args.Add("x");
        }
        return args;
    }

    /// <summary>The option with a value it accepts.</summary>
    private static IEnumerable<string> Give(Option o)
    {
        yield return o.Name;
        if (o.Arity.MaximumNumberOfValues == 0) yield break;
        var type = Nullable.GetUnderlyingType(o.ValueType) ?? o.ValueType;
        yield return o.Name == "--argon2-memory" ? "1024"
            : type == typeof(int) ? "1"
            : type == typeof(double) ? "50"
            : type == typeof(TimeSpan) ? "1h"
            : o.HelpName is { } help && help.Contains('|') ? help.Split('|')[0]
            : "1";
    }
}
