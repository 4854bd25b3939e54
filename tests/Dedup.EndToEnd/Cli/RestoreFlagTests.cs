using System.Text.Json;
using Dedup.TestKit;
using Xunit;

namespace Dedup.EndToEnd.Cli;

/// <summary>
/// Restore and snapshot selection through the real CLI: who signed the snapshot said before anything is written, and
/// 'latest~N' and --host in restore, ls and dump.
/// </summary>
public sealed class RestoreFlagTests : IDisposable
{
    private readonly DedupCli _cli = new();
    private readonly string _src;

    public RestoreFlagTests()
    {
        _src = _cli.Dir.CreateDirectory("src");
        _cli.Init();
    }

    [Fact]
    public void LatestTildeN_AndHost_SelectIn_Restore_Ls_AndDump()
    {
        var file = Path.Combine(_src, "f.txt");
        var ids = new List<string>();
        foreach (var (content, host) in new[] { ("one", "a"), ("two", "b"), ("three", "a") })
        {
            File.WriteAllText(file, content);
            ids.Add(JsonOutput.Result(_cli.Ok("backup", _src, "--host", host, "--json").Stdout).GetProperty("snapshot_id").GetString()!);
        }

        Assert.Equal("three", _cli.Ok("dump", "latest", file).Stdout);
        Assert.Equal("two", _cli.Ok("dump", "latest~1", file).Stdout);
        Assert.Equal("one", _cli.Ok("dump", "latest~1", file, "--host", "a").Stdout);
        Assert.Equal("two", _cli.Ok("dump", "latest", file, "--host", "b").Stdout);

        var target = _cli.Dir.Combine("out");
        Assert.StartsWith($"snapshot {ids[0][..8]} ", _cli.Ok("restore", "latest~2", "--target", target).Stdout);
        Assert.Equal("one", File.ReadAllText(target + file));

        var ls = JsonOutput.Lines(_cli.Ok("ls", "latest~1", "--host", "a", file, "--json", "--include-untrusted").Stdout);
        Assert.Equal(3, Assert.Single(ls).GetProperty("size").GetInt64());

        var none = _cli.Run(["-r", _cli.Repo, "restore", "latest", "--host", "c", "--target", target]);
        Assert.Equal(1, none.ExitCode);
        Assert.Contains("There is no trusted host 'c' snapshot", Assert.Single(none.StderrLines));
        var tooFar = _cli.Run(["-r", _cli.Repo, "ls", "latest~3"]);
        Assert.Equal(1, tooFar.ExitCode);
        Assert.Contains("'latest~3' does not exist", Assert.Single(tooFar.StderrLines));
    }

    public void Dispose() => _cli.Dispose();
}
