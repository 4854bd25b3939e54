using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd;

public sealed class RoundTripTests : IDisposable
{
    private readonly DedupCli _cli = new();

    [Fact]
    public void Init_Backup_Snapshots_Restore_RoundTripsTheTree()
    {
        var src = _cli.Dir.Combine("src");
        TreeFixture.Build(src, seed: 1);
        Assert.Equal(0, _cli.Init().ExitCode);

        var backup = _cli.Ok("backup", src, "--tag", "e2e,first", "--host", "testhost", "--json");
        var summary = JsonOutput.Result(backup.Stdout);
        var id = summary.GetProperty("snapshot_id").GetString()!;
        Assert.False(summary.GetProperty("incomplete").GetBoolean());

        var list = JsonDocument.Parse(_cli.Ok("snapshots", "--json").Stdout).RootElement;
        var snap = Assert.Single(list.EnumerateArray());
        Assert.Equal(id, snap.GetProperty("id").GetString());
        Assert.Equal(id[..8], snap.GetProperty("short_id").GetString());
        Assert.Equal("testhost", snap.GetProperty("host").GetString());
        Assert.Equal([Path.GetFullPath(src)], snap.GetProperty("paths").EnumerateArray().Select(p => p.GetString()!));
        Assert.Equal(["e2e", "first"], snap.GetProperty("tags").EnumerateArray().Select(p => p.GetString()!));
        Assert.True(DateTimeOffset.TryParse(snap.GetProperty("time").GetString(), out _));
        foreach (var field in new[] { "username", "parent", "tree", "program_version", "summary", "trust" })
            Assert.True(snap.TryGetProperty(field, out _), $"snapshots --json lacks '{field}'");

        var target = _cli.Dir.Combine("restored");
        _cli.Ok("restore", id[..10], "--target", target);
        TreeFixture.AssertSame(src, Path.Join(target, Path.GetFullPath(src)));

        // 'latest' and the table view resolve the same snapshot.
        Assert.Contains(id[..8], _cli.Ok("snapshots").Stdout);
        var latest = _cli.Dir.Combine("latest");
        _cli.Ok("restore", "latest", "--host", "testhost", "--target", latest);
        TreeFixture.AssertSame(src, Path.Join(latest, Path.GetFullPath(src)));
    }

    [Fact]
    public void SecondBackupOfUnchangedData_AddsLessThanATenthOfAPercent()
    {
        var src = _cli.Dir.Combine("src");
        long size = TreeFixture.Build(src, seed: 2);
        var extra = new byte[12 << 20];
        new Random(3).NextBytes(extra);
        File.WriteAllBytes(Path.Combine(src, "large", "extra.bin"), extra);
        size += extra.Length;
        _cli.Init();
        _cli.Ok("backup", src);
        long before = _cli.RepoBytes();
        var second = JsonOutput.Result(_cli.Ok("backup", src, "--json").Stdout);
        long added = _cli.RepoBytes() - before;
        Assert.Equal(0, second.GetProperty("files_new").GetInt64());
        Assert.Equal(0, second.GetProperty("bytes_read").GetInt64());
        Assert.True(added < size / 1000, $"the second backup added {added} bytes for {size} bytes of unchanged data");
    }

    [Fact]
    public void Restore_WithoutOverwrite_LeavesExistingFilesAndSaysSo()
    {
        var src = _cli.Dir.Combine("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "a.txt"), "from the snapshot");
        _cli.Init();
        _cli.Ok("backup", src);

        var target = _cli.Dir.Combine("target");
        var existing = Path.Join(target, Path.GetFullPath(src), "a.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(existing)!);
        File.WriteAllText(existing, "precious local edit");

        var refused = _cli.Run(["-r", _cli.Repo, "restore", "latest", "--target", target]);
        Assert.Equal(3, refused.ExitCode);
        Assert.Contains("--overwrite", refused.Stderr);
        Assert.Equal("precious local edit", File.ReadAllText(existing));

        _cli.Ok("restore", "latest", "--target", target, "--overwrite");
        Assert.Equal("from the snapshot", File.ReadAllText(existing));
    }

    public void Dispose() => _cli.Dispose();
}
