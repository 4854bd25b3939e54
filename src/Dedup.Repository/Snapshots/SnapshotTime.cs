using System.Globalization;
using System.Text.RegularExpressions;

namespace Dedup.Repository.Snapshots;

/// <summary>
/// "As of a time", as duplicity's --time and borg's --older/--newer take it: a date (2026-05-18, its start), a timestamp
/// (2026-05-18T10:00, 2026-05-18 10:00:00Z, with an optional offset), or an age before now (2D, 4h, 1W, 30m, 1Y, 1h30m).
/// A date or timestamp without an offset is local time. Pure: "now" and the zone are given, so tests fix both.
/// </summary>
public static partial class SnapshotTime
{
    public const string Forms = "a date (2026-05-18, local midnight), a timestamp (2026-05-18T10:00, '2026-05-18 10:00:00Z', +02:00 offsets) " +
                                "or an age before now (30s, 30m, 4h, 2D, 1W, 3M months, 1Y; combined as 1h30m)";

    /// <summary>An age's number has at most this many digits: a longer one ending in 'd' is read as a snapshot ID prefix.</summary>
    private const int MaxAgeDigits = 4;

    private static readonly string[] LocalFormats =
        ["yyyy-MM-dd", "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss.FFFFFFF", "yyyy-MM-dd HH:mm:ss.FFFFFFF"];

    [GeneratedRegex(@"^(?:\d{1,4}[smhdwySMHDWY])+$")]
    private static partial Regex AgeShape();

    [GeneratedRegex(@"(\d+)([smhdwySMHDWY])")]
    private static partial Regex AgePart();

    [GeneratedRegex(@"(?:[Zz]|[+-]\d\d:?\d\d)$")]
    private static partial Regex OffsetSuffix();

    /// <summary>True when <paramref name="text"/> is one of the <see cref="Forms"/>; <paramref name="moment"/> is then that instant.</summary>
    public static bool TryParse(string text, DateTimeOffset now, TimeZoneInfo zone, out DateTimeOffset moment)
    {
        moment = default;
        text = text.Trim();
        if (text.Length == 0) return false;
        if (AgeShape().IsMatch(text)) return TryAge(text, now, out moment);
        return TryAbsolute(text, zone, out moment);
    }

    /// <summary>Like <see cref="TryParse"/>, with an error that names what was given and the accepted forms.</summary>
    public static DateTimeOffset Parse(string text, DateTimeOffset now, TimeZoneInfo zone, string what = "time") =>
        TryParse(text, now, zone, out var m) ? m : throw new FormatException($"'{text}' is not a {what}: use {Forms}.");

    private static bool TryAge(string text, DateTimeOffset now, out DateTimeOffset moment)
    {
        moment = now;
        try
        {
            foreach (Match m in AgePart().Matches(text))
            {
                var n = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                var unit = m.Groups[2].Value[0];
                // Case-insensitive, except that 'm' is minutes and 'M' months, as in duplicity.
                moment = unit switch
                {
                    'm' => moment.AddMinutes(-n),
                    'M' => moment.AddMonths(-n),
                    _ => char.ToLowerInvariant(unit) switch
                    {
                        's' => moment.AddSeconds(-n),
                        'h' => moment.AddHours(-n),
                        'd' => moment.AddDays(-n),
                        'w' => moment.AddDays(-7.0 * n),
                        'y' => moment.AddYears(-n),
                        _ => throw new FormatException(),
                    },
                };
            }
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException)
        {
            moment = default;
            return false;
        }
    }

    private static bool TryAbsolute(string text, TimeZoneInfo zone, out DateTimeOffset moment)
    {
        moment = default;
        var suffix = OffsetSuffix().Match(text);
        // A date alone has no offset: "2026-05-18" would otherwise read "-18" as one.
        if (suffix.Success && text.Length > 10)
        {
            var local = text[..suffix.Index].TrimEnd();
            if (!DateTime.TryParseExact(local, LocalFormats[1..], CultureInfo.InvariantCulture, DateTimeStyles.None, out var clock)) return false;
            TimeSpan offset;
            if (suffix.Value is "Z" or "z") offset = TimeSpan.Zero;
            else
            {
                var digits = suffix.Value.Replace(":", "", StringComparison.Ordinal);
                var hours = int.Parse(digits.AsSpan(1, 2), CultureInfo.InvariantCulture);
                var minutes = int.Parse(digits.AsSpan(3, 2), CultureInfo.InvariantCulture);
                if (hours > 14 || minutes > 59) return false;
                offset = new TimeSpan(hours, minutes, 0) * (digits[0] == '-' ? -1 : 1);
            }
            moment = new DateTimeOffset(DateTime.SpecifyKind(clock, DateTimeKind.Unspecified), offset);
            return true;
        }
        if (!DateTime.TryParseExact(text, LocalFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var wall)) return false;
        // A wall-clock time skipped by a DST change has no instant; the offset before the change is as good as any.
        var utcOffset = zone.IsInvalidTime(wall) ? zone.GetUtcOffset(wall.AddHours(-1)) : zone.GetUtcOffset(wall);
        moment = new DateTimeOffset(DateTime.SpecifyKind(wall, DateTimeKind.Unspecified), utcOffset);
        return true;
    }

    /// <summary>
    /// Whether <paramref name="reference"/> names a time rather than a snapshot ID prefix. Ages such as "2d" are also
    /// hex; an age's number has at most <see cref="MaxAgeDigits"/> digits, so a longer prefix stays an ID.
    /// </summary>
    public static bool LooksLikeTime(string reference) =>
        AgeShape().IsMatch(reference) || (reference.Length >= 10 && reference[4] == '-' && char.IsAsciiDigit(reference[0]));

    /// <summary>The newest of <paramref name="items"/> whose time is at or before <paramref name="moment"/>; on a tie the later one in order.</summary>
    public static T? NewestAtOrBefore<T>(IEnumerable<T> items, Func<T, DateTimeOffset> time, DateTimeOffset moment) where T : class
    {
        T? best = null;
        var bestTime = DateTimeOffset.MinValue;
        foreach (var item in items)
        {
            var t = time(item);
            if (t <= moment && (best is null || t >= bestTime)) (best, bestTime) = (item, t);
        }
        return best;
    }

    /// <summary>The time selection by time goes by: what the storage recorded (the trust model), else the effective time.</summary>
    public static DateTimeOffset Of(LoadedSnapshot s) => s.StoredAt == default ? s.EffectiveTime : s.StoredAt;

    /// <summary>The moment as the user's clock shows it, for messages.</summary>
    public static string Describe(DateTimeOffset moment, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(moment, zone).ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture);
}
