using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd.Cli;

/// <summary>
/// --json output: long verbs stream status lines (one at the start, one at the end, the summary last), every line is
/// one JSON value, and --quiet keeps only the result. Also which build runs: CI's second pass runs the native binary.
/// </summary>
public sealed class JsonStreamTests : IDisposable
{
    private readonly DedupCli _cli = new();

    [Fact]
    public void Backup_AndRestore_StreamStatusLines_ThatEndAtTheSummarysCounts()
    {
        var src = _cli.Dir.Combine("src");
        TreeFixture.Build(src, seed: 21);
        _cli.Init();
        var backup = JsonOutput.Lines(_cli.Ok("backup", src, "--json").Stdout);
        Assert.True(backup.Count >= 3, $"{backup.Count} lines");
        var statuses = backup.SkipLast(1).ToList();
        Assert.All(statuses, s => Assert.Equal("status", s.GetProperty("message_type").GetString()));
        Assert.Equal(0, statuses[0].GetProperty("files_done").GetInt64());
        var summary = backup[^1];
        Assert.Equal("summary", summary.GetProperty("message_type").GetString());
        var files = summary.GetProperty("files_new").GetInt64() + summary.GetProperty("files_changed").GetInt64() + summary.GetProperty("files_unmodified").GetInt64();
        Assert.True(files > 0);
        Assert.Equal(files, statuses[^1].GetProperty("files_done").GetInt64());
        Assert.Equal(summary.GetProperty("bytes_total").GetInt64(), statuses[^1].GetProperty("bytes_done").GetInt64());
        AssertNeverDecreases(statuses, "files_done", "bytes_done", "seconds_elapsed");

        var restore = JsonOutput.Lines(_cli.Ok("restore", "latest", "--target", _cli.Dir.Combine("out"), "--json").Stdout);
        var restored = restore[^1];
        Assert.Equal("summary", restored.GetProperty("message_type").GetString());
        var last = restore[^2];
        Assert.True(last.GetProperty("files_done").GetInt64() > 0);
        Assert.Equal(last.GetProperty("total_files").GetInt64(), last.GetProperty("files_done").GetInt64());
        Assert.Equal(restored.GetProperty("bytes").GetInt64(), last.GetProperty("bytes_done").GetInt64());
        Assert.Equal(restored.GetProperty("bytes").GetInt64(), last.GetProperty("total_bytes").GetInt64());
        Assert.Equal(100, last.GetProperty("percent_done").GetDouble());
        AssertNeverDecreases(restore.SkipLast(1).ToList(), "files_done", "bytes_done");

        var check = JsonOutput.Lines(_cli.Ok("check", "--json").Stdout);
        Assert.Equal("check", check[^1].GetProperty("message_type").GetString());
        Assert.Equal(check[^1].GetProperty("packs_checked").GetInt64(), check[^2].GetProperty("packs_checked").GetInt64());

        var quiet = _cli.Ok("backup", src, "--json", "--quiet").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("summary", JsonDocument.Parse(Assert.Single(quiet)).RootElement.GetProperty("message_type").GetString());
    }

    [Fact]
    public void ManyStatusLinesASecond_StayWholeLines_NeverInterleaved()
    {
        var src = _cli.Dir.Combine("src");
        TreeFixture.Build(src, seed: 22);
        _cli.Init();
        var r = _cli.Run(["-r", _cli.Repo, "backup", src, "--json"], new() { ["DEDUP_PROGRESS_FPS"] = "60" });
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = JsonOutput.Lines(r.Stdout);
        Assert.Equal("summary", lines[^1].GetProperty("message_type").GetString());
        Assert.Equal(1, lines.Count(l => l.GetProperty("message_type").GetString() == "summary"));

        var bad = _cli.Run(["-r", _cli.Repo, "backup", src, "--json"], new() { ["DEDUP_PROGRESS_FPS"] = "fast" });
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("DEDUP_PROGRESS_FPS", Assert.Single(bad.StderrLines));
    }

    [Fact]
    public void PartialRestore_Exits3_AndSaysWhatWasLeft()
    {
        var src = _cli.Dir.CreateDirectory("src");
        File.WriteAllText(Path.Combine(src, "f.txt"), "from the snapshot");
        _cli.Init();
        _cli.Ok("backup", src);
        var target = _cli.Dir.Combine("out");
        var existing = Path.Join(target, Path.GetFullPath(src), "f.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(existing)!);
        File.WriteAllText(existing, "different");
        var r = _cli.Run(["-r", _cli.Repo, "restore", "latest", "--target", target, "--json"]);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal(1, JsonOutput.Result(r.Stdout).GetProperty("skipped").GetInt64());
        Assert.Equal("different", File.ReadAllText(existing));
    }

    [Fact]
    public void Version_SaysWhichBuildRuns()
    {
        var v = JsonDocument.Parse(_cli.Run(["version", "--json"], withPassword: false).Stdout).RootElement;
        Assert.Equal(DedupCli.NativeBinary is null ? "jit" : "native", v.GetProperty("build").GetString());
        Assert.Matches(@"^\d+\.\d+\.\d+$", v.GetProperty("version").GetString());
    }

    private static void AssertNeverDecreases(IReadOnlyList<JsonElement> lines, params string[] counters)
    {
        foreach (var name in counters)
            for (int i = 1; i < lines.Count; i++)
                Assert.True(lines[i].GetProperty(name).GetDouble() >= lines[i - 1].GetProperty(name).GetDouble(), $"{name} went down at line {i}");
    }

    public void Dispose() => _cli.Dispose();
}
