using System.Text;
using System.Text.Json;
using Dedup.TestKit;
using Xunit;

namespace Dedup.EndToEnd.Cli;

/// <summary>
/// The backup control flags through the real CLI (restic's names and meanings). The library tests
/// (tests/Dedup.Tests/Backup) cover each rule in depth; these show that each flag reaches the library: the same source
/// backed up with and without it differs exactly as the flag says.
/// </summary>
public sealed class BackupFlagTests : IDisposable
{
    private readonly DedupCli _cli = new();
    private readonly string _src;

    public BackupFlagTests()
    {
        _src = _cli.Dir.CreateDirectory("src");
        _cli.Init();
    }

    private string Write(string rel, string content) => Write(rel, Encoding.UTF8.GetBytes(content));

    private string Write(string rel, byte[] content)
    {
        var path = Path.Combine(_src, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>The paths in a snapshot below the source folder, relative to it.</summary>
    private List<string> PathsIn(string snapshot)
    {
        var lines = JsonOutput.Lines(_cli.Ok("ls", snapshot, _src, "--json").Stdout);
        return lines.Select(l => l.GetProperty("path").GetString()!).Where(p => p.StartsWith(_src + "/", StringComparison.Ordinal))
            .Select(p => p[(_src.Length + 1)..]).Order(StringComparer.Ordinal).ToList();
    }

    private string Backup(params string[] extra)
    {
        var summary = JsonOutput.Result(_cli.Ok(["backup", _src, "--json", .. extra]).Stdout);
        Assert.False(summary.GetProperty("dry_run").GetBoolean());
        return summary.GetProperty("snapshot_id").GetString()!;
    }

    /// <summary>Every file of the repository and of the cache with its size: what "nothing was written" compares.</summary>
    private SortedDictionary<string, long> Stored()
    {
        var all = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var root in new[] { _cli.Repo, _cli.Dir.Combine("cache") }.Where(Directory.Exists))
            foreach (var f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
                all[f] = new FileInfo(f).Length;
        return all;
    }

    [Fact]
    public void DryRun_WritesNothing_AndSaysWhatABackupWouldAdd()
    {
        Write("data.bin", DataGen.RandomBytes(1, 2 << 20));
        Write("notes.txt", "notes");
        var before = Stored();

        var dry = JsonOutput.Result(_cli.Ok("backup", _src, "--dry-run", "--json").Stdout);
        Assert.True(dry.GetProperty("dry_run").GetBoolean());
        Assert.False(dry.TryGetProperty("snapshot_id", out _), dry.ToString());
        Assert.True(dry.GetProperty("bytes_added").GetInt64() >= 2 << 20, dry.ToString());
        var human = _cli.Ok("backup", "-n", _src);
        Assert.Contains("would be added", human.Stdout);
        Assert.Contains("dry run: nothing was written", human.Stdout);
        Assert.Equal(before, Stored());
        Assert.Equal(0, JsonDocument.Parse(_cli.Ok("snapshots", "--json").Stdout).RootElement.GetArrayLength());

        // The real backup adds what the dry run announced.
        var real = JsonOutput.Result(_cli.Ok("backup", _src, "--json").Stdout);
        Assert.Equal(dry.GetProperty("files_new").GetInt64(), real.GetProperty("files_new").GetInt64());
        Assert.Equal(dry.GetProperty("blobs_added").GetInt64(), real.GetProperty("blobs_added").GetInt64());
        Assert.Equal(1, JsonDocument.Parse(_cli.Ok("snapshots", "--json").Stdout).RootElement.GetArrayLength());
    }

    [Fact]
    public void ExclusionFlags_LeaveOutWhatTheySay_AndNothingElse()
    {
        Write("cache/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n# a cache\n");
        Write("cache/junk.bin", "cached");
        Write("marked/.nobackup", "NOBACKUP please");
        Write("marked/secret.txt", "left out");
        Write("other/.nobackup", "something else");
        Write("other/kept.txt", "kept: the header does not match");
        Write("big.bin", DataGen.RandomBytes(2, 1536 * 1024));
        Write("small.txt", "small");
        Write("Photo.JPG", "case differs");
        Write("app.LOG", "listed in the iexclude file");
        Write("notes.txt", "kept");
        var iexcludeFile = _cli.Dir.Combine("iexcludes");
        File.WriteAllText(iexcludeFile, "# case-insensitive patterns\n*.log\n");

        var everything = PathsIn(Backup());
        Assert.Contains("cache/junk.bin", everything);
        Assert.Contains("marked/secret.txt", everything);
        Assert.Contains("big.bin", everything);
        Assert.Contains("Photo.JPG", everything);
        Assert.Contains("app.LOG", everything);

        var filtered = PathsIn(Backup("--exclude-caches", "--exclude-if-present", ".nobackup:NOBACKUP", "--exclude-larger-than", "1M",
            "--iexclude", "*.jpg", "--iexclude-file", iexcludeFile));
        Assert.Equal(
        [
            "cache", "cache/CACHEDIR.TAG", "marked", "marked/.nobackup", "notes.txt", "other", "other/.nobackup", "other/kept.txt", "small.txt",
        ], filtered);
    }

    [Fact]
    public void ExclusionFlags_RefuseBadValues_WithOneLine()
    {
        foreach (var (args, says) in new[]
                 {
                     (new[] { "--exclude-larger-than", "5X" }, "'5X' is not a size"),
                     (["--exclude-if-present", "a/b"], "is not a valid --exclude-if-present value"),
                     (["--iexclude-file", _cli.Dir.Combine("missing")], "missing"),
                 })
        {
            var r = _cli.Run(["-r", _cli.Repo, "backup", _src, .. args]);
            Assert.True(r.ExitCode is 1 or 2, r.ToString());
            Assert.Contains(says, Assert.Single(r.StderrLines));
        }
        Assert.Equal(0, JsonDocument.Parse(_cli.Ok("snapshots", "--json").Stdout).RootElement.GetArrayLength());
    }

    [Fact]
    public void FilesFrom_TheThreeForms_AndStandardInput_NameWhatIsBackedUp()
    {
        Write("a.txt", "a");
        Write("b.txt", "b");
        Write("c.log", "c");
        Write(" lead space.dat", "verbatim keeps the space");
        Write("new\nline.dat", "only the raw form can name this");
        Write("not listed.txt", "left out");
        var patterns = _cli.Dir.Combine("patterns");
        File.WriteAllText(patterns, $"# comment\n  {_src}/a.txt  \n{_src}/*.log\n{_src}/nothing-*.zip\n");
        var verbatim = _cli.Dir.Combine("verbatim");
        File.WriteAllText(verbatim, $"{_src}/ lead space.dat\n");
        var raw = Encoding.UTF8.GetBytes($"{_src}/new\nline.dat\0{_src}/b.txt\0");

        var r = _cli.Run(["-r", _cli.Repo, "backup", "--files-from", patterns, "--files-from-verbatim", verbatim, "--files-from-raw", "-", "--json"], stdin: raw);
        Assert.True(r.ExitCode == 0, r.ToString());
        var summary = JsonOutput.Result(r.Stdout);
        var warning = Assert.Single(summary.GetProperty("warnings").EnumerateArray()).GetString()!;
        Assert.Contains("nothing-*.zip", warning);
        Assert.Contains(r.StderrLines, l => l.StartsWith("dedup: warning: ", StringComparison.Ordinal) && l.Contains("nothing-*.zip"));
        Assert.Equal([" lead space.dat", "a.txt", "b.txt", "c.log", "new\nline.dat"], PathsIn(summary.GetProperty("snapshot_id").GetString()!));

        var twice = _cli.Run(["-r", _cli.Repo, "backup", "--files-from", "-", "--files-from-raw", "-"]);
        Assert.Equal(2, twice.ExitCode);
        Assert.Contains("only one --files-from list can be standard input", Assert.Single(twice.StderrLines));
    }

    [Fact]
    public void OneFileSystem_KeepsAMountPointEmpty()
    {
        Write("a.txt", "on the source file system");
        var mnt = Directory.CreateDirectory(Path.Combine(_src, "mnt")).FullName;
        ExternalTool.Check("mount", "-t", "tmpfs", "-o", "size=4m", "dedup-e2e", mnt);
        try
        {
            File.WriteAllText(Path.Combine(mnt, "inner.txt"), "on another file system");
            Assert.Contains("mnt/inner.txt", PathsIn(Backup()));
            Assert.Equal(["a.txt", "mnt"], PathsIn(Backup("-x")));
            Assert.Equal(["a.txt", "mnt"], PathsIn(Backup("--one-file-system")));
        }
        finally
        {
            ExternalTool.Run("umount", mnt);
        }
    }

    public void Dispose() => _cli.Dispose();
}
