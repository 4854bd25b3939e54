using Dedup.Repository.Snapshots;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dedup.Tests.Selection;

/// <summary>The "as of a time" syntax (dates, timestamps, ages) and the rule that picks a snapshot for a moment.</summary>
public class SnapshotTimeTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 20, 12, 0, 0, TimeSpan.Zero);
    // A fixed zone with an offset, so local-time interpretation shows in the results (and no DST to blur them).
    private static readonly TimeZoneInfo Plus2 = TimeZoneInfo.CreateCustomTimeZone("test+2", TimeSpan.FromHours(2), "test+2", "test+2");

    public static TheoryData<string, string> Valid => new()
    {
        // Ages before Now (2026-05-20 12:00Z); case does not matter except m (minutes) / M (months).
        { "2D", "2026-05-18T12:00:00+00:00" },
        { "2d", "2026-05-18T12:00:00+00:00" },
        { "4h", "2026-05-20T08:00:00+00:00" },
        { "4H", "2026-05-20T08:00:00+00:00" },
        { "1W", "2026-05-13T12:00:00+00:00" },
        { "30m", "2026-05-20T11:30:00+00:00" },
        { "1M", "2026-04-20T12:00:00+00:00" },
        { "1Y", "2025-05-20T12:00:00+00:00" },
        { "1y", "2025-05-20T12:00:00+00:00" },
        { "90s", "2026-05-20T11:58:30+00:00" },
        { "1h30m", "2026-05-20T10:30:00+00:00" },
        { "1D12h", "2026-05-19T00:00:00+00:00" },
        // Dates and timestamps without an offset are local time (+02:00 here); a date is its start.
        { "2026-05-18", "2026-05-18T00:00:00+02:00" },
        { "2026-05-18T10:00", "2026-05-18T10:00:00+02:00" },
        { "2026-05-18 10:00:00", "2026-05-18T10:00:00+02:00" },
        { "2026-05-18T10:00:30.5", "2026-05-18T10:00:30.5+02:00" },
        // With an offset, it wins over the local zone.
        { "2026-05-18 10:00:00Z", "2026-05-18T10:00:00+00:00" },
        { "2026-05-18T10:00Z", "2026-05-18T10:00:00+00:00" },
        { "2026-05-18T10:00:00-05:00", "2026-05-18T10:00:00-05:00" },
        { "2026-05-18T10:00+0130", "2026-05-18T10:00:00+01:30" },
        { " 2026-05-18 ", "2026-05-18T00:00:00+02:00" },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Parses_every_accepted_form(string text, string expected)
    {
        Assert.True(SnapshotTime.TryParse(text, Now, Plus2, out var moment), text);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), moment);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture).Offset, moment.Offset);
    }

    [Theory]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("2x")]
    [InlineData("D")]
    [InlineData("2026-13-01")]
    [InlineData("2026-02-30")]
    [InlineData("2026-05-18T25:00")]
    [InlineData("2026-05-18T10:00+15:00")]
    [InlineData("18.05.2026")]
    [InlineData("2026-05-18T")]
    [InlineData("99999999Y")]
    public void Refuses_anything_else_and_the_error_names_it_and_the_forms(string text)
    {
        Assert.False(SnapshotTime.TryParse(text, Now, Plus2, out _));
        var e = Assert.Throws<FormatException>(() => SnapshotTime.Parse(text, Now, Plus2));
        Assert.Contains($"'{text}'", e.Message);
        Assert.Contains("2026-05-18T10:00", e.Message);
        Assert.Contains("2D", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("2d", true)]
    [InlineData("1234d", true)]
    [InlineData("2026-05-18", true)]
    [InlineData("latest", false)]
    [InlineData("12345d", false)] // five digits and a d: an ID prefix, not 34 years
    [InlineData("1234567d", false)] // a short ID
    [InlineData("2a", false)]
    [InlineData("deadbeef", false)]
    public void An_ID_prefix_is_told_from_a_time(string reference, bool isTime) =>
        Assert.Equal(isTime, SnapshotTime.LooksLikeTime(reference));

    /// <summary>Any instant written as a timestamp with its offset, or in local time without one, reads back as that instant.</summary>
    [Property(MaxTest = 300)]
    public Property A_written_timestamp_reads_back_as_the_same_instant() =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), Gen.Choose(-14 * 4, 14 * 4).ToArbitrary(), (seconds, quarterHours) =>
        {
            var offset = TimeSpan.FromMinutes(15 * quarterHours);
            var instant = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(seconds).ToOffset(offset);
            var zone = TimeZoneInfo.CreateCustomTimeZone("z", offset, "z", "z");
            var withOffset = instant.ToString("yyyy-MM-ddTHH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);
            var local = instant.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
            return (SnapshotTime.TryParse(withOffset, Now, Plus2, out var a) && a == instant
                    && SnapshotTime.TryParse(local, Now, zone, out var b) && b == instant)
                .Label($"{withOffset} / {local}");
        });

    /// <summary>An age of n units is now minus n of them, whichever unit and case.</summary>
    [Property(MaxTest = 200)]
    public Property An_age_is_now_minus_that_many_units() =>
        Prop.ForAll(Gen.Choose(0, 9999).ToArbitrary(), Gen.Elements("s", "S", "m", "h", "H", "d", "D", "w", "W").ToArbitrary(), (n, unit) =>
        {
            var seconds = unit.ToLowerInvariant() switch { "s" => 1, "m" => 60, "h" => 3600, "d" => 86400, _ => 7 * 86400 };
            return (SnapshotTime.TryParse($"{n}{unit}", Now, Plus2, out var m) && m == Now.AddSeconds(-(double)n * seconds) && SnapshotTime.LooksLikeTime($"{n}{unit}"))
                .Label($"{n}{unit} -> {m:O}");
        });

    private sealed record Stored(int Id, DateTimeOffset At);

    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// For any stored times (ties included) and any moment: the chosen snapshot is never stored after the moment, no
    /// candidate lies strictly between it and the moment, and nothing is chosen only when every one is after the moment.
    /// </summary>
    [Property(MaxTest = 300)]
    public Property The_chosen_snapshot_is_the_newest_at_or_before_the_moment() =>
        Prop.ForAll(Gen.ListOf(Gen.Choose(0, 200)).ToArbitrary(), Gen.Choose(-10, 210).ToArbitrary(), (minutes, at) =>
        {
            var items = minutes.Select((m, i) => new Stored(i, Epoch.AddMinutes(m))).ToList();
            var moment = Epoch.AddMinutes(at);
            var chosen = SnapshotTime.NewestAtOrBefore(items, s => s.At, moment);
            if (chosen is null) return items.All(s => s.At > moment).Label("none chosen though one was at or before");
            return (chosen.At <= moment && !items.Any(s => s.At > chosen.At && s.At <= moment)
                    // On a tie, the later in the given order: the result does not depend on how the set was listed.
                    && !items.Any(s => s.At == chosen.At && s.Id > chosen.Id))
                .Label($"chose {chosen.Id} at {chosen.At:HH:mm} for {moment:HH:mm}");
        });
}
