using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

namespace Dedup.Archiver.Filtering;

/// <summary>
/// One path component of a glob, with the syntax of Go's filepath.Match (which restic documents for its patterns):
/// <list type="bullet">
/// <item>"*" matches any run of characters, "?" exactly one character (a whole code point, so one emoji);</item>
/// <item>"[abc]", "[a-z]" match one character of the set, "[^a-z]" one character outside it; "[!a-z]" is accepted as
/// well, as shells write it;</item>
/// <item>"\x" matches x literally, inside a set too.</item>
/// </list>
/// A malformed glob (an unclosed "[", an empty set, a range with no end, a trailing "\") is refused when it is parsed,
/// with one line that names it, rather than silently matching nothing.
/// </summary>
internal sealed class GlobComponent
{
    private static readonly ConcurrentDictionary<string, GlobComponent> Cache = new(StringComparer.Ordinal);
    private const string AnyCodePoint = @"(?:[\uD800-\uDBFF][\uDC00-\uDFFF]|[^\uD800-\uDFFF])";

    private readonly string? _literal;
    private readonly Regex? _regex;

    private GlobComponent(string? literal, Regex? regex)
    {
        _literal = literal;
        _regex = regex;
    }

    /// <summary>True when the glob has no special characters: it matches exactly its own text.</summary>
    public bool IsLiteral => _literal is not null;

    public bool Matches(string name) => _literal is not null ? string.Equals(_literal, name, StringComparison.Ordinal) : _regex!.IsMatch(name);

    /// <summary>True when the text contains a character that makes it a glob rather than a plain name.</summary>
    public static bool HasMeta(string text) => text.AsSpan().IndexOfAny("*?[\\") >= 0;

    /// <summary>Parses (and caches) a glob. Throws <see cref="ArgumentException"/> naming <paramref name="pattern"/> when it is malformed.</summary>
    public static GlobComponent Parse(string glob, string pattern) =>
        Cache.TryGetValue(glob, out var known) ? known : Cache.GetOrAdd(glob, Compile(glob, pattern));

    private static GlobComponent Compile(string glob, string pattern)
    {
        if (!HasMeta(glob)) return new GlobComponent(glob, null);
        var sb = new StringBuilder("^");
        for (int i = 0; i < glob.Length; i++)
        {
            char c = glob[i];
            switch (c)
            {
                case '*':
                    sb.Append(".*");
                    break;
                case '?':
                    sb.Append(AnyCodePoint);
                    break;
                case '\\':
                    if (i + 1 == glob.Length) throw Bad(pattern, "it ends with a lone '\\'");
                    AppendLiteral(sb, glob, ref i);
                    break;
                case '[':
                    i = AppendSet(sb, glob, i, pattern);
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }
        var regex = new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline);
        return new GlobComponent(null, regex);
    }

    private static void AppendLiteral(StringBuilder sb, string glob, ref int i)
    {
        i++;
        int length = char.IsHighSurrogate(glob[i]) && i + 1 < glob.Length ? 2 : 1;
        sb.Append(Regex.Escape(glob.Substring(i, length)));
        i += length - 1;
    }

    /// <summary>Translates the set starting at glob[start] == '['; returns the index of its closing ']'.</summary>
    private static int AppendSet(StringBuilder sb, string glob, int start, string pattern)
    {
        int i = start + 1;
        bool negated = i < glob.Length && glob[i] is '^' or '!';
        if (negated) i++;
        var set = new StringBuilder();
        int ranges = 0;
        while (true)
        {
            if (i >= glob.Length) throw Bad(pattern, $"the set starting at '{glob[start..]}' has no closing ']'");
            if (glob[i] == ']' && ranges > 0) break;
            char lo = SetChar(glob, ref i, pattern);
            set.Append(Escape(lo));
            if (i < glob.Length && glob[i] == '-' && i + 1 < glob.Length && glob[i + 1] != ']')
            {
                i++;
                char hi = SetChar(glob, ref i, pattern);
                if (hi < lo) throw Bad(pattern, $"the range '{lo}-{hi}' runs backwards");
                set.Append('-').Append(Escape(hi));
            }
            ranges++;
        }
        // A character outside the Basic Multilingual Plane is two UTF-16 units: it is never in a set of BMP characters,
        // so a negated set must match it whole, and a plain set never does.
        sb.Append(negated ? $"(?:[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]|[^{set}\\uD800-\\uDFFF])" : $"[{set}]");
        return i;
    }

    private static char SetChar(string glob, ref int i, string pattern)
    {
        char c = glob[i];
        if (c is '-' or ']') throw Bad(pattern, $"a set has '{c}' where a character belongs (write '\\{c}' for the character itself)");
        if (c == '\\')
        {
            if (++i >= glob.Length) throw Bad(pattern, "it ends with a lone '\\'");
            c = glob[i];
        }
        if (char.IsSurrogate(c)) throw Bad(pattern, "a set holds a character outside the Basic Multilingual Plane, which sets do not support (use '?')");
        i++;
        return c;
    }

    private static string Escape(char c) => c is '\\' or ']' or '[' or '^' or '-' ? "\\" + c : Regex.Escape(c.ToString());

    private static ArgumentException Bad(string pattern, string why) => new($"The pattern '{pattern}' is not valid: {why}.");
}
