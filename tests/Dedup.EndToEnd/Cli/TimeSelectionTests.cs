using System.Globalization;
using System.Text.Json;
using Dedup.TestKit;
using Xunit;

namespace Dedup.EndToEnd.Cli;

/// <summary>
/// Choosing snapshots by time through the real CLI on a local folder, and check --read-data-subset. A local store's
/// storage time is the snapshot file's mtime (LocalStorage reports it as LastModified), so the tests set those mtimes:
/// exactly what the storage then says, with no clock faked inside Dedup.
/// </summary>
public sealed class TimeSelectionTests : IDisposable
{
    private readonly DedupCli _cli = new();
    private readonly string _src;
    private readonly string _other;
    private readonly string _file;
    // Times of day matter for the local-time checks; whole minutes keep them readable.
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;

    public TimeSelectionTests()
    {
        _src = _cli.Dir.CreateDirectory("src");
        _other = _cli.Dir.CreateDirectory("other");
        _file = Path.Combine(_src, "f.txt");
        _cli.Init();
    }

    /// <summary>Backs up <paramref name="content"/> and sets the snapshot's storage time.</summary>
    private string Backup(string content, DateTimeOffset storedAt, string host, string path, params string[] extra)
    {
        File.WriteAllText(_file, content);
        var id = JsonOutput.Result(_cli.Ok(["backup", path, "--host", host, "--json", .. extra]).Stdout).GetProperty("snapshot_id").GetString()!;
        File.SetLastWriteTimeUtc(Path.Combine(_cli.Repo, "snapshots", id), storedAt.UtcDateTime);
        return id;
    }

    private (string One, string Two, string Three, string Other) FourSnapshots()
    {
        var one = Backup("one", _now.AddDays(-10), "a", _src);
        var two = Backup("two", _now.AddDays(-5), "b", _src, "--tag", "nightly");
        var three = Backup("three", _now.AddHours(-1), "a", _src);
        var other = Backup("other", _now.AddMinutes(-30), "a", _other);
        return (one, two, three, other);
    }

    private static void AssertOneLineError(CliResult r, int exitCode, params string[] contains)
    {
        Assert.True(r.ExitCode == exitCode, r.ToString());
        var line = Assert.Single(r.StderrLines);
        Assert.DoesNotContain("   at ", r.Stderr);
        foreach (var c in contains) Assert.True(line.Contains(c, StringComparison.Ordinal), $"'{c}' not in: {line}");
    }

    [Fact]
    public void An_age_picks_the_newest_snapshot_stored_at_or_before_it_among_the_filtered_ones()
    {
        FourSnapshots();
        // The storage's time decides, not the claimed one: every snapshot claims "now", and 'latest' is the 'other' one.
        Assert.Equal("three", _cli.Ok("dump", "latest", _file, "--path", _src).Stdout);
        Assert.Equal("two", _cli.Ok("dump", "2D", _file).Stdout);
        Assert.Equal("two", _cli.Ok("dump", "2d", _file).Stdout);
        Assert.Equal("one", _cli.Ok("dump", "6D", _file).Stdout);
        Assert.Equal("one", _cli.Ok("dump", "1W", _file).Stdout);
        Assert.Equal("two", _cli.Ok("dump", "90m", _file).Stdout);
        Assert.Equal("two", _cli.Ok("dump", "1h1m", _file).Stdout);
        Assert.Equal("three", _cli.Ok("dump", "45m", _file, "--path", _src).Stdout);
        // Filters: host, tag and path narrow the candidates.
        Assert.Equal("one", _cli.Ok("dump", "2D", _file, "--host", "a").Stdout);
        Assert.Equal("two", _cli.Ok("dump", "1m", _file, "--tag", "nightly").Stdout);
        Assert.Equal("three", _cli.Ok("dump", "1m", _file, "--host", "a", "--path", _src).Stdout);

        // restore and ls take the same syntax.
        var target = _cli.Dir.Combine("out");
        _cli.Ok("restore", "3d", "--target", target);
        Assert.Equal("two", File.ReadAllText(target + _file));
        var ls = JsonOutput.Lines(_cli.Ok("ls", "6D", _file, "--json").Stdout);
        Assert.Equal(3, Assert.Single(ls).GetProperty("size").GetInt64());

        AssertOneLineError(_cli.Run(["-r", _cli.Repo, "dump", "11D", _file]), 1, "no trusted snapshot stored at or before", "('11D')");
        AssertOneLineError(_cli.Run(["-r", _cli.Repo, "dump", "1m", _file, "--host", "b", "--tag", "nope"]), 1, "no trusted host 'b' tags nope snapshot stored at or before");
    }

    [Fact]
    public void A_timestamp_without_an_offset_is_local_time_and_one_with_an_offset_is_that_instant()
    {
        var stored = new DateTimeOffset(2026, 5, 15, 8, 0, 0, TimeSpan.Zero);
        Backup("early", stored.AddDays(-3), "a", _src);
        Backup("at eight", stored, "a", _src);
        Backup("late", stored.AddDays(3), "a", _src);
        // 08:00Z is 13:30 in Kolkata (+05:30, no DST). Read as UTC, 13:29 would already be after it.
        var kolkata = new Dictionary<string, string?> { ["TZ"] = "Asia/Kolkata" };
        string Dump(string when, Dictionary<string, string?>? env = null)
        {
            var r = _cli.Run(["-r", _cli.Repo, "dump", when, _file], env);
            Assert.True(r.ExitCode == 0, r.ToString());
            return r.Stdout;
        }
        Assert.Equal("early", Dump("2026-05-15 13:29", kolkata));
        Assert.Equal("at eight", Dump("2026-05-15 13:30", kolkata));
        Assert.Equal("at eight", Dump("2026-05-15T13:30:00", kolkata));
        Assert.Equal("early", Dump("2026-05-15T07:59:59Z", kolkata));
        Assert.Equal("at eight", Dump("2026-05-15T08:00:00Z", kolkata));
        Assert.Equal("at eight", Dump("2026-05-15T10:00+02:00", kolkata));
        // A date is its start in local time: 2026-05-16 00:00 in Kolkata is after 13:30 on the 15th.
        Assert.Equal("at eight", Dump("2026-05-16", kolkata));
        Assert.Equal("early", Dump("2026-05-15", kolkata));
        Assert.Equal("late", Dump("2026-05-19", kolkata));

        var none = _cli.Run(["-r", _cli.Repo, "dump", "2026-05-01", _file], kolkata);
        AssertOneLineError(none, 1, "no trusted snapshot stored at or before 2026-05-01 00:00:00 +05:30");
        var bad = _cli.Run(["-r", _cli.Repo, "dump", "2026-05-32", _file]);
        AssertOneLineError(bad, 1, "'2026-05-32' is not a snapshot reference", "latest~N", "2026-05-18T10:00", "2D");
    }

    [Fact]
    public void Snapshots_filters_by_stored_time_keeps_the_latest_per_group_and_groups_compactly()
    {
        var (one, two, three, other) = FourSnapshots();
        string[] Ids(params string[] args) =>
            JsonDocument.Parse(_cli.Ok(["snapshots", "--json", .. args]).Stdout).RootElement.EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToArray();

        Assert.Equal(new[] { one, two }.Order(), Ids("--older", "2D").Order());
        Assert.Equal(new[] { three, other }.Order(), Ids("--newer", "2D").Order());
        Assert.Equal([two], Ids("--older", "2D", "--newer", "1W"));
        Assert.Equal(new[] { one, two }.Order(), Ids("--older", _now.AddDays(-5).ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture)).Order());
        // Groups are host + paths: (a, src) has one and three, (b, src) two, (a, other) other.
        Assert.Equal(new[] { two, three, other }.Order(), Ids("--latest", "1").Order());
        Assert.Equal(new[] { one, three }.Order(), Ids("--latest", "5", "--host", "a", "--path", _src).Order());
        Assert.Equal([two], Ids("--tag", "nightly"));

        var compact = _cli.Ok("snapshots", "--compact").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"host a: {_src}", compact[0]);
        Assert.StartsWith($"  {one[..8]}  ", compact[1]);
        Assert.StartsWith($"  {three[..8]}  ", compact[2]);
        Assert.Equal($"host b: {_src}", compact[3]);
        Assert.StartsWith($"  {two[..8]}  ", compact[4]);
        Assert.EndsWith("nightly", compact[4]);
        Assert.Equal($"host a: {_other}", compact[5]);
        Assert.StartsWith($"  {other[..8]}  ", compact[6]);
        Assert.Equal("4 snapshots", compact[7]);

        var table = _cli.Ok("snapshots").Stdout;
        Assert.Contains("Stored", table.Split('\n')[0]);
        AssertOneLineError(_cli.Run(["-r", _cli.Repo, "snapshots", "--older", "last tuesday"]), 2, "--older 'last tuesday' is not a time", "2D");
    }

    [Fact]
    public void Check_read_data_subset_runs_cover_every_pack_once_and_the_run_holding_damage_finds_it()
    {
        for (int i = 0; i < 8; i++)
        {
            File.WriteAllBytes(Path.Combine(_src, $"data{i}.bin"), DataGen.RandomBytes(1000 + i, 300_000));
            _cli.Ok("backup", _src);
        }
        var packs = Directory.GetFiles(Path.Combine(_cli.Repo, "data"), "*", SearchOption.AllDirectories);
        Assert.True(packs.Length >= 8, $"{packs.Length} packs");

        const int t = 3;
        long sum = 0;
        for (int n = 1; n <= t; n++)
        {
            var report = JsonOutput.Result(_cli.Ok("check", "--read-data-subset", $"{n}/{t}", "--json").Stdout);
            Assert.Equal($"group {n}/{t}", report.GetProperty("read_data_subset").GetString());
            Assert.Equal(packs.Length, report.GetProperty("packs_checked").GetInt64());
            sum += report.GetProperty("packs_read").GetInt64();
        }
        Assert.Equal(packs.Length, sum);
        var full = JsonOutput.Result(_cli.Ok("check", "--read-data", "--json").Stdout);
        Assert.Equal(packs.Length, full.GetProperty("packs_read").GetInt64());
        // A percentage is rounded up: 1% of a few packs reads one.
        Assert.Equal(1, JsonOutput.Result(_cli.Ok("check", "--read-data-subset", "1%", "--json").Stdout).GetProperty("packs_read").GetInt64());

        // One byte of the first blob of the largest pack (file data, not trees): only reading that pack can see it.
        var damaged = packs.MaxBy(p => new FileInfo(p).Length)!;
        var bytes = File.ReadAllBytes(damaged);
        bytes[10] ^= 0x40;
        File.SetAttributes(damaged, FileAttributes.Normal);
        File.WriteAllBytes(damaged, bytes);
        _cli.Ok("check");

        var finders = new List<int>();
        for (int n = 1; n <= t; n++)
        {
            var r = _cli.Run(["-r", _cli.Repo, "check", "--read-data-subset", $"{n}/{t}"]);
            Assert.True(r.ExitCode is 0 or 12, r.ToString());
            Assert.Contains($"read group {n}/{t}: ", r.Stderr + r.Stdout);
            if (r.ExitCode == 12)
            {
                Assert.Contains(Path.GetFileName(damaged), r.Stdout);
                finders.Add(n);
            }
        }
        Assert.Single(finders);

        AssertOneLineError(_cli.Run(["-r", _cli.Repo, "check", "--read-data-subset", "0/3"]), 2, "'0/3'", "n between 1 and t");
    }

    public void Dispose() => _cli.Dispose();
}
