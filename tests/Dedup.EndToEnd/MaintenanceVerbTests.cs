using System.Text;
using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd;

/// <summary>forget, prune, copy and repair through the CLI, on local folders.</summary>
public sealed class MaintenanceVerbTests : IDisposable
{
    private readonly DedupCli _cli = new();

    private string Backup(string src, params string[] extra) =>
        JsonOutput.Result(_cli.Ok(["backup", src, "--json", .. extra]).Stdout).GetProperty("snapshot_id").GetString()!;

    [Fact]
    public void Forget_DryRunExplains_ThenForgetAndPruneReclaimSpace()
    {
        var src = _cli.Dir.CreateDirectory("src");
        var big = Path.Combine(src, "big.bin");
        var bytes = new byte[3 << 20];
        new Random(5).NextBytes(bytes);
        File.WriteAllBytes(big, bytes);
        _cli.Init();
        var first = Backup(src);
        File.Delete(big);
        File.WriteAllText(Path.Combine(src, "small.txt"), "small");
        var second = Backup(src);

        var dry = JsonDocument.Parse(_cli.Ok("forget", "--keep-last", "1", "--dry-run", "--json").Stdout).RootElement;
        Assert.True(dry.GetProperty("dry_run").GetBoolean());
        var items = dry.GetProperty("groups")[0].GetProperty("snapshots").EnumerateArray().ToList();
        Assert.Equal(second, items.Single(i => i.GetProperty("keep").GetBoolean()).GetProperty("id").GetString());
        Assert.Equal(["last"], items.Single(i => i.GetProperty("keep").GetBoolean()).GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!));
        Assert.Equal(first, items.Single(i => !i.GetProperty("keep").GetBoolean()).GetProperty("id").GetString());
        var table = _cli.Ok("forget", "--keep-last", "1", "--dry-run").Stdout;
        Assert.Contains("would remove", table);
        Assert.Equal(2, JsonDocument.Parse(_cli.Ok("snapshots", "--json").Stdout).RootElement.GetArrayLength());

        long before = _cli.RepoBytes();
        var pruneDry = JsonDocument.Parse(_cli.Ok("forget", "--keep-last", "1", "--prune", "--dry-run", "--json").Stdout).RootElement;
        Assert.Equal(0, pruneDry.GetProperty("removed").GetInt32());
        Assert.Equal(before, _cli.RepoBytes());
        // Its prune plans as if the first snapshot were gone: the deleted big file's 3 MiB show as unused.
        var planned = pruneDry.GetProperty("prune");
        Assert.True(planned.GetProperty("dry_run").GetBoolean());
        Assert.Equal(1, planned.GetProperty("snapshots").GetInt32());
        Assert.True(planned.GetProperty("bytes_unused").GetInt64() > 2 << 20, planned.ToString());
        Assert.Contains(planned.GetProperty("notes").EnumerateArray(), n => n.GetString()!.StartsWith("planned as if the 1 snapshot(s) forget would remove were gone", StringComparison.Ordinal));

        var r = _cli.Run(["-r", _cli.Repo, "forget", "--keep-last", "1", "--prune", "--grace", "0"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("--grace 0", r.Stderr);
        Assert.Contains("freed", r.Stdout);
        Assert.True(_cli.RepoBytes() < before - (2 << 20), $"{before} bytes before, {_cli.RepoBytes()} after");
        var left = JsonDocument.Parse(_cli.Ok("snapshots", "--json").Stdout).RootElement;
        Assert.Equal(second, Assert.Single(left.EnumerateArray()).GetProperty("id").GetString());
        _cli.Ok("check", "--read-data");
    }

    [Fact]
    public void Forget_WithoutPolicyOrIds_AndBadFlags_AreUsageErrors()
    {
        _cli.Init();
        foreach (var args in new[] { new[] { "forget" }, ["forget", "--keep-last", "x"], ["forget", "--keep-within", "3q"], ["forget", "--keep-last", "1", "--grace", "1h"],
                     ["forget", "--keep-last", "1", "--group-by", "color"], ["prune", "--grace", "soon"], ["prune", "--max-unused", "150%"], ["prune", "--max-repack-size", "lots"] })
        {
            var r = _cli.Run(["-r", _cli.Repo, .. args]);
            Assert.True(r.ExitCode == 2, $"{string.Join(' ', args)}: {r}");
            Assert.StartsWith("dedup: ", Assert.Single(r.StderrLines));
        }
    }

    [Fact]
    public void Prune_OnATidyRepository_ReportsNothingToDo_AndTheJsonHasTheReport()
    {
        var src = _cli.Dir.CreateDirectory("src");
        File.WriteAllText(Path.Combine(src, "f"), "content");
        _cli.Init();
        Backup(src);
        var report = JsonOutput.Result(_cli.Ok("prune", "--json").Stdout);
        Assert.Equal(1, report.GetProperty("snapshots").GetInt32());
        Assert.Equal(0, report.GetProperty("packs_deleted").GetInt32());
        Assert.Equal(48 * 3600, report.GetProperty("grace_seconds").GetDouble());
        Assert.Contains("marked:", _cli.Ok("prune").Stdout);
    }

    [Fact]
    public void Copy_ToASecondRepository_RestoresTheSame_AndARerunCopiesNothing()
    {
        var src = _cli.Dir.Combine("src");
        TreeFixture.Build(src, seed: 8);
        _cli.Init();
        Backup(src);
        var dest = _cli.Dir.Combine("dest");
        var destPass = _cli.Dir.Combine("dest.pass");
        File.WriteAllText(destPass, "destination password");
        var env = new Dictionary<string, string?> { ["DEDUP_PASSWORD_FILE"] = destPass };
        Assert.Equal(0, _cli.Run(["-r", dest, "init", .. DedupCli.FastKdf], env).ExitCode);

        var copy = _cli.Run(["-r", dest, "copy", "--from-repo", _cli.Repo, "--from-password-file", _cli.PasswordFile, "--json"], env);
        Assert.True(copy.ExitCode == 0, copy.ToString());
        Assert.Single(JsonOutput.Result(copy.Stdout).GetProperty("copied").EnumerateArray());
        var target = _cli.Dir.Combine("restored");
        Assert.Equal(0, _cli.Run(["-r", dest, "restore", "latest", "--target", target], env).ExitCode);
        TreeFixture.AssertSame(src, Path.Join(target, Path.GetFullPath(src)));

        var again = _cli.Run(["-r", dest, "copy", "--from-repo", _cli.Repo, "--json"], new(env) { ["DEDUP_FROM_PASSWORD_FILE"] = _cli.PasswordFile });
        Assert.True(again.ExitCode == 0, again.ToString());
        var json = JsonOutput.Result(again.Stdout);
        Assert.Empty(json.GetProperty("copied").EnumerateArray());
        Assert.Single(json.GetProperty("already_present").EnumerateArray());

        var noPassword = _cli.Run(["-r", dest, "copy", "--from-repo", _cli.Repo], env);
        Assert.Equal(2, noPassword.ExitCode);
        Assert.Contains("source repository", noPassword.Stderr);
    }

    [Fact]
    public void RepairIndexAndSnapshots_AfterALostPack_SaySnapshotAndFile()
    {
        var src = _cli.Dir.CreateDirectory("src");
        File.WriteAllBytes(Path.Combine(src, "lost.bin"), new byte[200_000].Select((_, i) => (byte)(i * 13)).ToArray());
        _cli.Init();
        var id = Backup(src);
        _cli.Ok("repair", "index");
        var pack = Directory.EnumerateFiles(Path.Combine(_cli.Repo, "data"), "*", SearchOption.AllDirectories).OrderByDescending(f => new FileInfo(f).Length).First();
        File.Delete(pack);
        _cli.Ok("repair", "index");
        var dry = _cli.Ok("repair", "snapshots", "--dry-run").Stdout;
        Assert.Contains(id[..8], dry);
        Assert.Contains("lost.bin", dry);
        var done = JsonDocument.Parse(_cli.Ok("repair", "snapshots", "--forget", "--json").Stdout).RootElement;
        var repaired = Assert.Single(done.GetProperty("snapshots").EnumerateArray());
        Assert.Contains(repaired.GetProperty("lost").EnumerateArray(), p => p.GetString()!.EndsWith("/lost.bin", StringComparison.Ordinal));
        var left = Assert.Single(JsonDocument.Parse(_cli.Ok("snapshots", "--json").Stdout).RootElement.EnumerateArray());
        Assert.Contains("repaired", left.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public void Backup_UsesTheDefaultCache_AndNoCacheLeavesItAlone()
    {
        var src = _cli.Dir.CreateDirectory("src");
        File.WriteAllText(Path.Combine(src, "f"), "x");
        _cli.Init();
        var cache = _cli.Dir.Combine("cache");
        _cli.Ok("backup", src, "--no-cache");
        Assert.False(Directory.Exists(cache) && Directory.EnumerateFileSystemEntries(cache).Any(), "--no-cache wrote a cache");
        _cli.Ok("backup", src);
        Assert.True(Directory.EnumerateFiles(cache, "*", SearchOption.AllDirectories).Any(), "the default cache (DEDUP_CACHE_DIR) was not used");
        Assert.Equal(2, _cli.Run(["-r", _cli.Repo, "backup", src, "--no-cache", "--cache-dir", cache]).ExitCode);
    }

    [Fact]
    public void BackupStdin_SummaryCountsTheFileAndItsBytes()
    {
        _cli.Init();
        var data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 5000).Select(i => $"line {i}\n")));
        var r = _cli.Run(["-r", _cli.Repo, "backup", "--stdin", "--json"], stdin: data);
        Assert.True(r.ExitCode == 0, r.ToString());
        var s = JsonOutput.Result(r.Stdout);
        Assert.Equal(data.Length, s.GetProperty("bytes_read").GetInt64());
        Assert.Equal(1, s.GetProperty("files_new").GetInt64());
        Assert.Equal(data.Length, s.GetProperty("bytes_total").GetInt64());
    }

    public void Dispose() => _cli.Dispose();
}
