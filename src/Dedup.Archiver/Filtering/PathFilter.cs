using System.Text;

namespace Dedup.Archiver.Filtering;

/// <summary>
/// Glob patterns over absolute '/'-separated paths, with restic's meaning (doc/040_backup.rst, "Excluding files"):
/// <list type="bullet">
/// <item>Each component is a <see cref="GlobComponent"/> ("*", "?", "[a-z]", "\x"), which never matches across a '/';
/// a "**" component matches any number of components, none included.</item>
/// <item>Patterns match whole components: "foo" matches "/a/foo" and "/a/foo/b", never "/a/foobar".</item>
/// <item>A pattern starting with "/" is anchored at the root; any other may match starting at any component, so
/// "*.tmp" or "cache/*.bin" match at every depth. A trailing "/" is ignored, and "//", "." and ".." are cleaned
/// away as Go's filepath.Clean does.</item>
/// <item>A pattern that matches a directory also matches everything below it.</item>
/// <item>A pattern starting with "!" cancels the matches of the patterns before it (as in gitignore). Patterns apply in
/// order, so "/home/*" followed by "!/home/ann" keeps /home/ann and everything in it.</item>
/// <item>With <c>ignoreCase</c> (restic's --iexclude, --iinclude) patterns and paths are compared in lower case.</item>
/// </list>
/// Malformed patterns are refused when the filter is built (<see cref="ArgumentException"/>, one line).
/// </summary>
public sealed class PathFilter
{
    private sealed record Pattern(bool Negated, bool Anchored, Part[] Parts);

    /// <summary>One component of a pattern: null <see cref="Glob"/> stands for "**".</summary>
    private readonly record struct Part(GlobComponent? Glob)
    {
        public bool IsDoubleStar => Glob is null;
    }

    private readonly List<Pattern> _patterns = [];
    private readonly bool _ignoreCase;
    private readonly bool _hasNegation;

    public PathFilter(IEnumerable<string> patterns, bool ignoreCase = false)
    {
        _ignoreCase = ignoreCase;
        foreach (var raw in patterns)
        {
            if (raw.Length == 0) continue;
            var text = ignoreCase ? raw.ToLowerInvariant() : raw;
            bool negated = text[0] == '!';
            if (negated) text = text[1..];
            if (text.Length == 0) continue;
            var cleaned = Clean(text, out bool anchored);
            if (cleaned.Count == 0)
            {
                if (!anchored) continue; // "." names no component
                cleaned.Add("**");       // "/" is the root, and a pattern that matches a directory matches all below it
            }
            var parts = cleaned.Select(p => new Part(p == "**" ? null : GlobComponent.Parse(p, raw))).ToArray();
            _patterns.Add(new Pattern(negated, anchored, parts));
            _hasNegation |= negated;
        }
    }

    public bool IsEmpty => _patterns.Count == 0;

    /// <summary>
    /// Reads patterns from a file as restic reads --exclude-file: one per line, leading and trailing white space removed,
    /// blank lines and lines starting with '#' ignored, and $NAME or ${NAME} replaced by the environment variable
    /// ($$ for a literal '$').
    /// </summary>
    public static IEnumerable<string> ReadFile(string path)
    {
        foreach (var line in File.ReadAllLines(path))
        {
            var p = line.Trim();
            if (p.Length == 0 || p.StartsWith('#')) continue;
            yield return ExpandEnvironment(p);
        }
    }

    /// <summary>True when the patterns, applied in order, leave <paramref name="path"/> (or one of its ancestors) matched.</summary>
    public bool Matches(string path)
    {
        if (_patterns.Count == 0) return false;
        var parts = SplitPath(path);
        bool matched = false;
        foreach (var p in _patterns)
        {
            if (p.Negated)
            {
                if (matched && MatchesAnywhere(p, parts)) matched = false;
            }
            else if (!matched && MatchesAnywhere(p, parts))
            {
                matched = true;
                if (!_hasNegation) return true; // nothing later can undo it
            }
        }
        return matched;
    }

    /// <summary>
    /// True when something below the directory <paramref name="path"/> could match, so a selective restore must
    /// descend into it (restic's childMatch). Unanchored patterns can match at any depth; an anchored one only if the
    /// path is a prefix of what it can match.
    /// </summary>
    public bool CouldMatchBelow(string path)
    {
        var parts = SplitPath(path);
        bool could = false;
        foreach (var p in _patterns)
        {
            if (p.Negated)
            {
                // A directory the negation matches is unselected with everything below it.
                if (could && MatchesAnywhere(p, parts)) could = false;
            }
            else if (!could)
            {
                could = !p.Anchored || CouldExtend(p.Parts, 0, parts, 0);
            }
        }
        return could;
    }

    private string[] SplitPath(string path) =>
        (_ignoreCase ? path.ToLowerInvariant() : path).Split('/', StringSplitOptions.RemoveEmptyEntries);

    private static bool MatchesAnywhere(Pattern p, string[] parts)
    {
        int lastStart = p.Anchored ? 0 : parts.Length - 1;
        for (int start = 0; start <= lastStart; start++)
            if (MatchPrefix(p.Parts, 0, parts, start)) return true;
        // "**" alone (or "/**") matches the root too.
        return parts.Length == 0 && p.Parts.All(x => x.IsDoubleStar);
    }

    // Does pattern pat[pi..] match a run of components parts[ci..k] (the whole pattern consumed)?
    private static bool MatchPrefix(Part[] pat, int pi, string[] parts, int ci)
    {
        if (pi == pat.Length) return true;
        if (pat[pi].IsDoubleStar)
        {
            for (int k = ci; k <= parts.Length; k++)
                if (MatchPrefix(pat, pi + 1, parts, k)) return true;
            return false;
        }
        return ci < parts.Length && pat[pi].Glob!.Matches(parts[ci]) && MatchPrefix(pat, pi + 1, parts, ci + 1);
    }

    // Can the path parts[ci..] be extended so that the pattern matches? (All of parts consumed, pattern may remain.)
    private static bool CouldExtend(Part[] pat, int pi, string[] parts, int ci)
    {
        if (ci == parts.Length) return true;
        if (pi == pat.Length) return true; // matched already: everything below is selected
        if (pat[pi].IsDoubleStar) return true;
        return pat[pi].Glob!.Matches(parts[ci]) && CouldExtend(pat, pi + 1, parts, ci + 1);
    }

    /// <summary>The components of a pattern after Go's filepath.Clean: no empty, "." or resolvable ".." components.</summary>
    private static List<string> Clean(string pattern, out bool anchored)
    {
        anchored = pattern[0] == '/';
        var parts = new List<string>();
        foreach (var part in pattern.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == ".." && parts.Count > 0 && parts[^1] != "..") parts.RemoveAt(parts.Count - 1);
            else if (part == ".." && anchored) continue; // "/.." is "/"
            else parts.Add(part);
        }
        return parts;
    }

    /// <summary>$NAME and ${NAME} become the variable's value (empty when unset); $$ is a literal '$'; any other '$' stays.</summary>
    internal static string ExpandEnvironment(string text)
    {
        if (!text.Contains('$')) return text;
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '$' || i + 1 == text.Length)
            {
                sb.Append(text[i]);
                continue;
            }
            char next = text[i + 1];
            if (next == '$')
            {
                sb.Append('$');
                i++;
            }
            else if (next == '{' && text.IndexOf('}', i + 2) is var close and > 0)
            {
                sb.Append(Environment.GetEnvironmentVariable(text[(i + 2)..close]));
                i = close;
            }
            else if (char.IsAsciiLetterOrDigit(next) || next == '_')
            {
                int end = i + 1;
                while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_')) end++;
                sb.Append(Environment.GetEnvironmentVariable(text[(i + 1)..end]));
                i = end - 1;
            }
            else
            {
                sb.Append('$');
            }
        }
        return sb.ToString();
    }
}
