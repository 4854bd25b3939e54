using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd;

/// <summary>
/// Issue 13, "dedup status on a fleet with one silent host and one host with a sudden change: both are flagged, and the
/// exit code and JSON say so", through the CLI. Three put-only hosts (write-only keys, enrolled, each with its own state):
/// 'quiet' backed up once, two days ago by the storage's clock (its snapshot object's mtime, the time the local store
/// records, is set back, as if nothing had arrived since); 'busy' backed up a tree of 1,200 small files and then small
/// edits, then rewrote every file (the shape of mass encryption); 'steady' backed up today. Only the first two are flagged.
/// </summary>
public sealed class FleetStatusCliTests : IDisposable
{
    private readonly DedupCli _cli = new();

    [Fact]
    public void SilentHostAndChurningHost_AreFlagged_WithExitCode13AndWhy()
    {
        Assert.True(_cli.Init().ExitCode == 0);
        var hosts = new[] { "quiet", "busy", "steady" }.ToDictionary(h => h, Enrol);
        var trees = hosts.Keys.ToDictionary(h => h, h => _cli.Dir.Combine("src-" + h));
        foreach (var (host, tree) in trees)
        {
            Directory.CreateDirectory(tree);
            int files = host == "busy" ? 1200 : 5;
            for (int i = 0; i < files; i++) File.WriteAllText(Path.Join(tree, $"f{i:0000}.txt"), $"{host} file {i}\n");
        }
        string Backup(string host) => JsonDocument.Parse(Host(host, "backup", trees[host], "--json").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1])
            .RootElement.GetProperty("snapshot_id").GetString()!;

        var quiet = Backup("quiet");
        var stored = Assert.Single(Directory.EnumerateFiles(Path.Join(_cli.Repo, "snapshots"), quiet, SearchOption.AllDirectories));
        File.SetLastWriteTimeUtc(stored, DateTime.UtcNow - TimeSpan.FromHours(48));

        Backup("busy");
        for (int round = 0; round < 3; round++) // the usual: one file a day
        {
            File.AppendAllText(Path.Join(trees["busy"], "f0000.txt"), $"edit {round}\n");
            Backup("busy");
        }
        Backup("steady");
        var calm = Status();
        Assert.True(calm.Result.ExitCode == 13, calm.Result.ToString()); // quiet is already silent
        Assert.False(Row(calm.Json, "busy").GetProperty("unusual_churn").GetBoolean(), calm.Result.Stdout);

        foreach (var f in Directory.EnumerateFiles(trees["busy"])) File.WriteAllText(f, "encrypted " + Guid.NewGuid() + "\n");
        var busy = Backup("busy");

        var (result, json) = Status();
        Assert.True(result.ExitCode == 13, $"status with a silent and a churning host: {result}");
        Assert.True(json.GetProperty("attention").GetBoolean(), result.Stdout);
        var q = Row(json, "quiet");
        Assert.Equal(quiet, q.GetProperty("last_snapshot").GetString());
        Assert.True(q.GetProperty("silent").GetBoolean(), q.ToString());
        Assert.False(q.GetProperty("unusual_churn").GetBoolean(), q.ToString());
        Assert.InRange(q.GetProperty("age_seconds").GetInt64(), 48 * 3600, 49 * 3600);
        var b = Row(json, "busy");
        Assert.Equal(busy, b.GetProperty("last_snapshot").GetString());
        Assert.True(b.GetProperty("unusual_churn").GetBoolean(), b.ToString());
        Assert.False(b.GetProperty("silent").GetBoolean(), b.ToString());
        Assert.Equal(1200, b.GetProperty("changed_files").GetInt64());
        Assert.Equal(1, b.GetProperty("median_changed_files").GetDouble()); // the baseline: 1,200 new, then 1, 1, 1
        Assert.Equal(5, b.GetProperty("snapshots").GetInt32());
        var s = Row(json, "steady");
        Assert.False(s.GetProperty("silent").GetBoolean() || s.GetProperty("unusual_churn").GetBoolean(), s.ToString());

        // The table and the Prometheus text say the same; a longer --stale clears the silent host, not the churn.
        var prom = _cli.Dir.Combine("dedup.prom");
        var table = _cli.Run(["-r", _cli.Repo, "status", "--prometheus", prom]);
        Assert.True(table.ExitCode == 13, table.ToString());
        var lines = table.Stdout.Split('\n');
        Assert.EndsWith("SILENT", Assert.Single(lines, l => l.StartsWith("quiet ", StringComparison.Ordinal)).TrimEnd());
        Assert.EndsWith("CHURN", Assert.Single(lines, l => l.StartsWith("busy ", StringComparison.Ordinal)).TrimEnd());
        var text = File.ReadAllText(prom);
        Assert.Contains("dedup_writer_silent{", text);
        Assert.Single(text.Split('\n'), l => l.StartsWith("dedup_writer_silent{", StringComparison.Ordinal) && l.Contains("host=\"quiet\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Single(text.Split('\n'), l => l.StartsWith("dedup_writer_unusual_churn{", StringComparison.Ordinal) && l.Contains("host=\"busy\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        var (longer, lenient) = Status("--stale", "72h");
        Assert.True(longer.ExitCode == 13, longer.ToString());
        Assert.False(Row(lenient, "quiet").GetProperty("silent").GetBoolean(), longer.Stdout);
        Assert.True(Row(lenient, "busy").GetProperty("unusual_churn").GetBoolean(), longer.Stdout);
    }

    private string Enrol(string host)
    {
        var pass = _cli.Dir.Combine(host + ".pass");
        File.WriteAllText(pass, host + " password\n");
        var enrolment = _cli.Dir.Combine(host + ".enrol");
        _cli.Ok(["key", "add", "--write-only", "--host", host, "--new-password-file", pass, "--enroll", enrolment, .. DedupCli.FastKdf]);
        Host(host, "enroll", enrolment);
        return pass;
    }

    private CliResult Host(string host, params string[] args)
    {
        var r = _cli.Run(["-r", _cli.Repo, .. args], new Dictionary<string, string?>
        {
            ["DEDUP_PASSWORD_FILE"] = _cli.Dir.Combine(host + ".pass"),
            ["DEDUP_STATE_DIR"] = _cli.Dir.Combine(host + "-state"),
            ["DEDUP_CACHE_DIR"] = _cli.Dir.Combine(host + "-cache"),
        });
        Assert.True(r.ExitCode == 0, $"{host}: dedup {string.Join(' ', args)} failed: {r}");
        return r;
    }

    private (CliResult Result, JsonElement Json) Status(params string[] more)
    {
        var r = _cli.Run(["-r", _cli.Repo, "status", "--json", .. more]);
        return (r, JsonDocument.Parse(r.Stdout).RootElement.Clone());
    }

    private static JsonElement Row(JsonElement status, string host) =>
        Assert.Single(status.GetProperty("writers").EnumerateArray(), w => w.GetProperty("host").GetString() == host);

    public void Dispose() => _cli.Dispose();
}
