using System.Globalization;
using Dedup.Format;

namespace Dedup.Cli.Cli;

/// <summary>Formatting shared by the verbs' human-readable output.</summary>
public static class Text
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

    public static string Bytes(long n)
    {
        double v = n;
        int u = 0;
        while (Math.Abs(v) >= 1024 && u < Units.Length - 1)
        {
            v /= 1024;
            u++;
        }
        return u == 0 ? $"{n} B" : v.ToString(v >= 100 ? "0" : "0.0#", CultureInfo.InvariantCulture) + " " + Units[u];
    }

    public static string Duration(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}"
        : t.TotalMinutes >= 1 ? $"{t.Minutes}:{t.Seconds:00}"
        : t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s";

    public static string LocalTime(DateTimeOffset t) => t.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    public static string Iso(DateTimeOffset t) => t.ToString("O", CultureInfo.InvariantCulture);

    public static DateTimeOffset FromUnixNs(long ns) => DateTimeOffset.UnixEpoch.AddTicks(ns / 100);

    /// <summary>"drwxr-xr-x" as ls prints it, including set-id and sticky bits.</summary>
    public static string Mode(NodeType type, uint mode)
    {
        Span<char> s = stackalloc char[10];
        s[0] = type switch
        {
            NodeType.Directory => 'd',
            NodeType.Symlink => 'l',
            NodeType.BlockDevice => 'b',
            NodeType.CharDevice => 'c',
            NodeType.Fifo => 'p',
            NodeType.Socket => 's',
            _ => '-',
        };
        const string rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) s[i + 1] = (mode & (1u << (8 - i))) != 0 ? rwx[i] : '-';
        if ((mode & 0x800) != 0) s[3] = s[3] == 'x' ? 's' : 'S';
        if ((mode & 0x400) != 0) s[6] = s[6] == 'x' ? 's' : 'S';
        if ((mode & 0x200) != 0) s[9] = s[9] == 'x' ? 't' : 'T';
        return new string(s);
    }

    public static string TypeName(NodeType t) => t switch
    {
        NodeType.File => "file",
        NodeType.Directory => "dir",
        NodeType.Symlink => "symlink",
        NodeType.BlockDevice => "blockdev",
        NodeType.CharDevice => "chardev",
        NodeType.Fifo => "fifo",
        NodeType.Socket => "socket",
        _ => t.ToString().ToLowerInvariant(),
    };

    /// <summary>Left-aligned columns, each as wide as its widest cell; the last column is not padded.</summary>
    public static IEnumerable<string> Table(IReadOnlyList<string[]> rows)
    {
        if (rows.Count == 0) yield break;
        var widths = new int[rows.Max(r => r.Length)];
        foreach (var r in rows)
            for (int i = 0; i < r.Length; i++) widths[i] = Math.Max(widths[i], r[i].Length);
        foreach (var r in rows)
            yield return string.Join("  ", r.Select((c, i) => i == r.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
    }
}
