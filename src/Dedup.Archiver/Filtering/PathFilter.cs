using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

namespace Dedup.Archiver.Filtering;

/// <summary>
/// Glob patterns over '/'-separated paths, with restic's meaning:
/// <list type="bullet">
/// <item>"*" and "?" and "[abc]" match within one path component; "**" matches any number of components.</item>
/// <item>A pattern starting with "/" is anchored at the root; any other pattern may match starting at any component,
/// so "*.tmp" or "cache/*.bin" match at every depth.</item>
/// <item>A pattern that matches a directory also matches everything below it.</item>
/// </list>
/// </summary>
public sealed class PathFilter
{
    private readonly List<(bool Anchored, string[] Parts)> _patterns = [];
    private static readonly ConcurrentDictionary<string, Regex> Cache = new();

    public PathFilter(IEnumerable<string> patterns)
    {
        foreach (var raw in patterns)
        {
            var p = raw.Trim();
            if (p.Length == 0 || p.StartsWith('#')) continue;
            bool anchored = p.StartsWith('/');
            _patterns.Add((anchored, p.Split('/', StringSplitOptions.RemoveEmptyEntries)));
        }
    }

    public bool IsEmpty => _patterns.Count == 0;

    /// <summary>Reads patterns from a file: one per line, blank lines and lines starting with '#' ignored.</summary>
    public static IEnumerable<string> ReadFile(string path) => File.ReadAllLines(path);

    /// <summary>True when some pattern matches <paramref name="path"/> or one of its ancestors.</summary>
    public bool Matches(string path)
    {
        if (_patterns.Count == 0) return false;
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var (anchored, pat) in _patterns)
        {
            int lastStart = anchored ? 0 : parts.Length - 1;
            for (int start = 0; start <= lastStart; start++)
                if (MatchPrefix(pat, 0, parts, start)) return true;
        }
        return false;
    }

    /// <summary>
    /// True when <paramref name="path"/> is a directory some pattern could match below, so a selective
    /// restore must descend into it.
    /// </summary>
    public bool CouldMatchBelow(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var (anchored, pat) in _patterns)
        {
            if (!anchored) return true;
            if (CouldExtend(pat, 0, parts, 0)) return true;
        }
        return false;
    }

    // Does pattern pat[pi..] match a prefix of parts[ci..] that ends at a component boundary (the whole pattern consumed)?
    private static bool MatchPrefix(string[] pat, int pi, string[] parts, int ci)
    {
        if (pi == pat.Length) return true;
        if (pat[pi] == "**")
        {
            for (int k = ci; k <= parts.Length; k++)
                if (MatchPrefix(pat, pi + 1, parts, k)) return true;
            return false;
        }
        return ci < parts.Length && Component(pat[pi]).IsMatch(parts[ci]) && MatchPrefix(pat, pi + 1, parts, ci + 1);
    }

    // Can the path parts[ci..] be extended so that the pattern matches? (All of parts consumed, pattern may remain.)
    private static bool CouldExtend(string[] pat, int pi, string[] parts, int ci)
    {
        if (ci == parts.Length) return true;
        if (pi == pat.Length) return true; // matched already: everything below is selected
        if (pat[pi] == "**") return true;
        return Component(pat[pi]).IsMatch(parts[ci]) && CouldExtend(pat, pi + 1, parts, ci + 1);
    }

    private static Regex Component(string glob) => Cache.GetOrAdd(glob, g =>
    {
        var sb = new StringBuilder("^");
        for (int i = 0; i < g.Length; i++)
        {
            char c = g[i];
            switch (c)
            {
                case '*': sb.Append(".*"); break;
                case '?': sb.Append('.'); break;
                case '[':
                    int end = g.IndexOf(']', i + 1);
                    if (end < 0) { sb.Append("\\["); break; }
                    var set = g[(i + 1)..end];
                    sb.Append('[').Append(set.StartsWith('!') ? "^" + Regex.Escape(set[1..]) : Regex.Escape(set)).Append(']');
                    i = end;
                    break;
                case '\\' when i + 1 < g.Length:
                    sb.Append(Regex.Escape(g[++i].ToString()));
                    break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        return new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline);
    });
}
