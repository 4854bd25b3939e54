namespace Dedup.Cli.Cli;

/// <param name="Synopsis">The arguments after the verb, e.g. "SNAPSHOT --target DIR".</param>
/// <param name="Details">Further help shown by 'dedup VERB --help'.</param>
/// <param name="MinArgs">Fewest positional arguments.</param>
/// <param name="MaxArgs">Most positional arguments; int.MaxValue for "PATH...".</param>
public sealed record Verb(
    string Name, string Synopsis, string Summary, string Details, IReadOnlyList<OptionSpec> Options,
    int MinArgs, int MaxArgs, Func<CliContext, Task<int>> Run)
{
    public void CheckArgCount(ParsedArgs args)
    {
        var n = args.Positionals.Count;
        if (n < MinArgs) throw new UsageException($"'{Name}' needs more arguments: dedup {Name} {Synopsis}");
        if (n > MaxArgs) throw new UsageException($"'{Name}' got an unexpected argument '{args.Positionals[MaxArgs]}': dedup {Name} {Synopsis}");
    }

    public string Usage()
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"Usage: dedup {Name} {Synopsis}".TrimEnd());
        sb.AppendLine();
        sb.AppendLine(Summary);
        if (Details.Length > 0)
        {
            sb.AppendLine();
            sb.AppendLine(Details.TrimEnd());
        }
        if (Options.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Options:");
            AppendOptions(sb, Options);
        }
        sb.AppendLine();
        sb.AppendLine("Global options:");
        AppendOptions(sb, GlobalOptions.All);
        sb.AppendLine("  -h, --help                 show this help");
        return sb.ToString();
    }

    public static void AppendOptions(System.Text.StringBuilder sb, IEnumerable<OptionSpec> options)
    {
        foreach (var o in options)
        {
            var name = (o.Short is { } s ? $"-{s}, " : "    ") + "--" + o.Long + (o.Value is null ? "" : " " + o.Value);
            sb.AppendLine($"  {name,-26} {o.Help}{(o.Repeatable ? " (repeatable)" : "")}");
        }
    }
}
