using System.Globalization;

namespace Dedup.Maintenance;

/// <summary>The keep rules of 'forget', with restic's meaning. A snapshot is kept when any rule keeps it.</summary>
public sealed record RetentionPolicy
{
    public int Last { get; init; }
    public int Hourly { get; init; }
    public int Daily { get; init; }
    public int Weekly { get; init; }
    public int Monthly { get; init; }
    public int Yearly { get; init; }
    /// <summary>Keep every snapshot within this span of the newest snapshot of its group.</summary>
    public TimeSpan? Within { get; init; }
    public IReadOnlyList<string> KeepTags { get; init; } = [];

    public bool IsEmpty => Last == 0 && Hourly == 0 && Daily == 0 && Weekly == 0 && Monthly == 0 && Yearly == 0 && Within is null && KeepTags.Count == 0;

    /// <summary>One snapshot as the policy sees it: its effective time (see <see cref="SnapshotTimes"/>) and tags.</summary>
    public readonly record struct Candidate(string Id, DateTimeOffset Time, IReadOnlyList<string> Tags);

    public sealed record Decision(string Id, bool Keep, IReadOnlyList<string> Reasons);

    /// <summary>Applies the policy to one group. Returns a decision per snapshot, newest first.</summary>
    public IReadOnlyList<Decision> Apply(IEnumerable<Candidate> group)
    {
        var list = group.OrderByDescending(c => c.Time).ThenByDescending(c => c.Id, StringComparer.Ordinal).ToList();
        var reasons = list.ToDictionary(c => c.Id, _ => new List<string>());
        if (list.Count == 0) return [];
        for (int i = 0; i < Math.Min(Last, list.Count); i++) reasons[list[i].Id].Add("last");
        Bucket(list, reasons, Hourly, "hourly", t => t.ToString("yyyy-MM-dd HH", CultureInfo.InvariantCulture));
        Bucket(list, reasons, Daily, "daily", t => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        Bucket(list, reasons, Weekly, "weekly", t => $"{ISOWeek.GetYear(t.UtcDateTime)}-{ISOWeek.GetWeekOfYear(t.UtcDateTime)}");
        Bucket(list, reasons, Monthly, "monthly", t => t.ToString("yyyy-MM", CultureInfo.InvariantCulture));
        Bucket(list, reasons, Yearly, "yearly", t => t.ToString("yyyy", CultureInfo.InvariantCulture));
        if (Within is { } within)
        {
            var newest = list[0].Time;
            foreach (var c in list.Where(c => newest - c.Time <= within)) reasons[c.Id].Add("within " + within);
        }
        if (KeepTags.Count > 0)
            foreach (var c in list.Where(c => c.Tags.Any(KeepTags.Contains))) reasons[c.Id].Add("tag");
        return list.Select(c => new Decision(c.Id, reasons[c.Id].Count > 0, reasons[c.Id])).ToList();
    }

    /// <summary>Keeps the newest snapshot of each of the <paramref name="count"/> most recent periods that have one.</summary>
    private static void Bucket(List<Candidate> newestFirst, Dictionary<string, List<string>> reasons, int count, string name, Func<DateTimeOffset, string> period)
    {
        string? last = null;
        int kept = 0;
        foreach (var c in newestFirst)
        {
            if (kept >= count) break;
            var p = period(c.Time.ToUniversalTime());
            if (p == last) continue;
            last = p;
            reasons[c.Id].Add(name);
            kept++;
        }
    }

    /// <summary>Parses durations such as "48h", "7d", "2w", "1y6m" (as restic: y years, m months of 30 days, d days, h hours; also w weeks and s seconds). "0" is zero.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        if (text == "0") return TimeSpan.Zero;
        var total = TimeSpan.Zero;
        int i = 0;
        if (text.Length == 0) throw new FormatException("empty duration");
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
            if (start == i || i == text.Length) throw new FormatException($"'{text}' is not a duration like 48h, 7d, 2w or 1y");
            long n = long.Parse(text[start..i], CultureInfo.InvariantCulture);
            total += text[i++] switch
            {
                's' => TimeSpan.FromSeconds(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                'w' => TimeSpan.FromDays(7 * n),
                'm' => TimeSpan.FromDays(30 * n),
                'y' => TimeSpan.FromDays(365 * n),
                _ => throw new FormatException($"'{text}' is not a duration like 48h, 7d, 2w or 1y"),
            };
        }
        return total;
    }
}
