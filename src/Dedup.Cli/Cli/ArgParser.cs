namespace Dedup.Cli.Cli;

/// <summary>A command-line mistake: exit code 2, one line, and a pointer to the verb's help.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <param name="Long">The long name without dashes ("repo").</param>
/// <param name="Short">The one-letter alias, if any ('r').</param>
/// <param name="Value">The value's placeholder in help ("DIR"), or null for a flag.</param>
/// <param name="Repeatable">May be given several times; every value is kept.</param>
public sealed record OptionSpec(string Long, char? Short, string? Value, string Help, bool Repeatable = false)
{
    public bool TakesValue => Value is not null;
}

/// <summary>The options and arguments one invocation gave, validated against the verb's option specs.</summary>
public sealed class ParsedArgs
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public List<string> Positionals { get; } = [];
    public bool HelpRequested { get; internal set; }

    internal void Add(string name, string value)
    {
        if (!_values.TryGetValue(name, out var list)) _values[name] = list = [];
        list.Add(value);
    }

    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>The last value given (later options override earlier ones, as in most tools), or null.</summary>
    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v[^1] : null;

    public IReadOnlyList<string> GetAll(string name) => _values.TryGetValue(name, out var v) ? v : [];

    /// <summary>Every value of a repeatable option, each also split on commas ("--tag a,b --tag c" → a, b, c).</summary>
    public IReadOnlyList<string> GetList(string name) =>
        GetAll(name).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    public int? GetInt(string name, int min, int max)
    {
        var text = Get(name);
        if (text is null) return null;
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < min || n > max)
            throw new UsageException($"--{name} takes a whole number from {min} to {max}, not '{text}'");
        return n;
    }
}

/// <summary>
/// Parses "VERB [options] [args]" in the usual GNU style: "--opt value", "--opt=value", "-o value", repeatable
/// options, flags, and "--" ending options. Global options are accepted before or after the verb.
/// </summary>
public static class ArgParser
{
    /// <summary>Finds the verb: the first argument that is neither an option nor a global option's value.</summary>
    public static (string? Verb, int Index) FindVerb(IReadOnlyList<string> args, IReadOnlyList<OptionSpec> globals)
    {
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a == "--") return (i + 1 < args.Count ? args[i + 1] : null, i + 1);
            if (!a.StartsWith('-') || a == "-") return (a, i);
            var spec = Lookup(a, globals, out _);
            if (spec is { TakesValue: true } && !a.Contains('=')) i++;
        }
        return (null, -1);
    }

    /// <summary>Parses every argument except the verb at <paramref name="verbIndex"/>.</summary>
    public static ParsedArgs Parse(IReadOnlyList<string> args, int verbIndex, IReadOnlyList<OptionSpec> options)
    {
        var result = new ParsedArgs();
        bool endOfOptions = false;
        for (int i = 0; i < args.Count; i++)
        {
            if (i == verbIndex) continue;
            var a = args[i];
            if (endOfOptions || !a.StartsWith('-') || a == "-")
            {
                result.Positionals.Add(a);
                continue;
            }
            if (a == "--")
            {
                endOfOptions = true;
                continue;
            }
            if (a is "-h" or "--help")
            {
                result.HelpRequested = true;
                continue;
            }
            var spec = Lookup(a, options, out var inlineValue)
                ?? throw new UsageException($"unknown option '{a.Split('=')[0]}'");
            string value;
            if (!spec.TakesValue)
            {
                if (inlineValue is not null) throw new UsageException($"--{spec.Long} is a flag and takes no value");
                value = "true";
            }
            else if (inlineValue is not null) value = inlineValue;
            else if (i + 1 < args.Count && (i + 1) != verbIndex) value = args[++i];
            else throw new UsageException($"--{spec.Long} needs a value ({spec.Value})");
            if (!spec.Repeatable && spec.TakesValue && result.Has(spec.Long))
                throw new UsageException($"--{spec.Long} was given more than once");
            result.Add(spec.Long, value);
        }
        return result;
    }

    private static OptionSpec? Lookup(string arg, IReadOnlyList<OptionSpec> options, out string? inlineValue)
    {
        inlineValue = null;
        if (arg.StartsWith("--", StringComparison.Ordinal))
        {
            var body = arg[2..];
            var eq = body.IndexOf('=');
            if (eq >= 0)
            {
                inlineValue = body[(eq + 1)..];
                body = body[..eq];
            }
            return options.FirstOrDefault(o => o.Long == body);
        }
        // "-r value" only; bundling ("-qr") is not worth its ambiguity here.
        return arg.Length == 2 ? options.FirstOrDefault(o => o.Short == arg[1]) : null;
    }
}
