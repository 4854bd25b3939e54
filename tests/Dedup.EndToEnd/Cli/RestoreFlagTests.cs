using System.Globalization;
using System.Text.Json;
using Dedup.TestKit;
using Xunit;

namespace Dedup.EndToEnd.Cli;

/// <summary>
/// Restore and snapshot selection through the real CLI: sparse files and extended attributes by default and their
/// --no-sparse/--no-xattrs opt-outs (checked with stat and getfattr, not with Dedup's code), who signed the snapshot
/// said before anything is written, and 'latest~N' and --host in restore, ls and dump.
/// </summary>
public sealed class RestoreFlagTests : IDisposable
{
    private const long SparseSize = 16L << 20;
    private readonly DedupCli _cli = new();
    private readonly string _src;

    public RestoreFlagTests()
    {
        _src = _cli.Dir.CreateDirectory("src");
        _cli.Init();
    }

    private static long AllocatedBytes(string path) => 512 * long.Parse(Tool.Ok("stat", "-c", "%b", path).Trim(), CultureInfo.InvariantCulture);

    private string Restored(string target, string name) => target + Path.Combine(_src, name);

    [Fact]
    public void Restore_IsSparseWithAttributesByDefault_AndTheFlagsTurnEachOff()
    {
        var sparse = Path.Combine(_src, "disk.img");
        using (var f = File.Create(sparse))
        {
            f.SetLength(SparseSize);
            f.Position = SparseSize / 2;
            f.Write("data in the middle"u8);
        }
        var tagged = Path.Combine(_src, "tagged.txt");
        File.WriteAllText(tagged, "has an attribute");
        Tool.Ok("setfattr", "-n", "user.dedup-e2e", "-v", "kept", tagged);
        var backup = JsonOutput.Result(_cli.Ok("backup", _src, "--host", "h1", "--json").Stdout);
        var id = backup.GetProperty("snapshot_id").GetString()!;

        var plain = _cli.Dir.Combine("plain");
        var r = _cli.Ok("restore", "latest", "--target", plain);
        // Who signed it comes first, before the restore's own summary.
        Assert.StartsWith($"snapshot {id[..8]} of host 'h1', ", r.Stdout);
        Assert.Contains("signed by a full key", r.Stdout.Split('\n')[0]);
        Assert.Equal(SparseSize, new FileInfo(Restored(plain, "disk.img")).Length);
        Assert.True(AllocatedBytes(Restored(plain, "disk.img")) < 1 << 20, $"{AllocatedBytes(Restored(plain, "disk.img"))} bytes allocated");
        Assert.Equal("kept", Tool.Ok("getfattr", "--only-values", "-n", "user.dedup-e2e", Restored(plain, "tagged.txt")));

        var dense = _cli.Dir.Combine("dense");
        var json = JsonOutput.Result(_cli.Ok("restore", id[..8], "--target", dense, "--no-sparse", "--no-xattrs", "--json").Stdout);
        Assert.Equal(("h1", "repository", true), (json.GetProperty("host").GetString(), json.GetProperty("signer").GetString(), json.GetProperty("trusted").GetBoolean()));
        Assert.Equal(File.ReadAllBytes(sparse), File.ReadAllBytes(Restored(dense, "disk.img")));
        Assert.True(AllocatedBytes(Restored(dense, "disk.img")) >= SparseSize, $"{AllocatedBytes(Restored(dense, "disk.img"))} bytes allocated");
        var attr = Tool.Run("getfattr", "--only-values", "-n", "user.dedup-e2e", Restored(dense, "tagged.txt"));
        Assert.NotEqual(0, attr.ExitCode);
        Assert.Contains("No such attribute", attr.Stderr);
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
