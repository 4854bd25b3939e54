using System.Globalization;

namespace Dedup.Archiver.Backup;

/// <summary>Sizes as restic's options take them: a whole number of bytes, or with a binary suffix k/K, m/M, g/G, t/T, optionally followed by iB or B ("1M" = "1MiB" = 1,048,576).</summary>
public static class ByteSize
{
    /// <summary>Parses a size; throws <see cref="ArgumentException"/> with one line naming the text when it is not one.</summary>
    public static long Parse(string text)
    {
        var t = text.Trim();
        // "100MiB" and "100MB" read as "100M": binary units, as the rest of the tool prints them.
        if (t.EndsWith("iB", StringComparison.OrdinalIgnoreCase) && t.Length > 3) t = t[..^2];
        else if (t.EndsWith('B') && t.Length > 2 && char.IsLetter(t[^2])) t = t[..^1];
        int shift = t.Length == 0 ? 0 : char.ToLowerInvariant(t[^1]) switch { 'k' => 10, 'm' => 20, 'g' => 30, 't' => 40, _ => 0 };
        if (shift > 0) t = t[..^1];
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n > long.MaxValue >> shift)
            throw new ArgumentException($"'{text}' is not a size: give a whole number of bytes, optionally followed by k, M, G or T (for example 500k or 2G).");
        return n << shift;
    }
}
