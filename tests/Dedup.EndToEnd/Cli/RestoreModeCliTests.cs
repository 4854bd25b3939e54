using Dedup.TestKit;
using Xunit;

namespace Dedup.EndToEnd.Cli;

/// <summary>
/// restore's handling of a target that is already in use, through the real CLI on a local repository: every
/// --overwrite mode (and the default refusal) on a target with an extra, a changed, an older and a touched file;
/// --dry-run -v, which lists and changes nothing (a full listing with hashes, modes, mtimes and inodes compared);
/// --delete, which makes the target match the snapshot within the include/exclude scope and refuses / and the home
/// directory without --force; --verify on a good restore; hard links restored as links.
/// </summary>
public sealed class RestoreModeCliTests : IDisposable
{
    private static readonly DateTime SnapshotTime = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly DedupCli _cli = new();
    private readonly string _src;

    public RestoreModeCliTests()
    {
        _src = _cli.Dir.CreateDirectory("src");
        BuildSource(_src);
        _cli.Init();
        _cli.Ok("backup", _src);
    }

    /// <summary>Files dated <see cref="SnapshotTime"/>: same.txt, changed.txt, older.txt, touched.txt, missing.txt, sub/keep.log.</summary>
    internal static void BuildSource(string src)
    {
        foreach (var (name, text) in new[] { ("same.txt", "unchanged"), ("changed.txt", "snapshot version"), ("older.txt", "snapshot of older"),
                     ("touched.txt", "same bytes, other mtime"), ("missing.txt", "gone from the target"), ("sub/keep.log", "a log") })
        {
            var path = Path.Combine(src, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
            File.SetLastWriteTimeUtc(path, SnapshotTime);
        }
    }

    /// <summary>
    /// After a full restore into <paramref name="restored"/> (the source's path inside the target): changed.txt edited
    /// and newer than the snapshot, older.txt edited and older, touched.txt only re-dated, missing.txt removed, and
    /// extras added (extra.txt, sub/extra.log, sub/extra-dir/x).
    /// </summary>
    internal static void Disturb(string restored)
    {
        string at(string name) => Path.Combine(restored, name);
        File.WriteAllText(at("changed.txt"), "local edit, newer");
        File.SetLastWriteTimeUtc(at("changed.txt"), SnapshotTime.AddYears(3));
        File.WriteAllText(at("older.txt"), "local edit, older");
        File.SetLastWriteTimeUtc(at("older.txt"), SnapshotTime.AddYears(-1));
        File.SetLastWriteTimeUtc(at("touched.txt"), SnapshotTime.AddYears(2));
        File.Delete(at("missing.txt"));
        File.WriteAllText(at("extra.txt"), "not in the snapshot");
        File.WriteAllText(at("sub/extra.log"), "not in the snapshot either");
        Directory.CreateDirectory(at("sub/extra-dir"));
        File.WriteAllText(at("sub/extra-dir/x"), "xx");
    }

    private string Prepared(string name)
    {
        var target = _cli.Dir.Combine(name);
        _cli.Ok("restore", "latest", "--target", target);
        Disturb(target + _src);
        return target;
    }

    private static string Text(string target, string src, string name) => File.ReadAllText(Path.Combine(target + src, name));

    // mode ("" = no option, "bare" = --overwrite alone), exit code, files with the snapshot's content afterwards.
    [Theory]
    [InlineData("", 3, "same.txt missing.txt")]
    [InlineData("never", 0, "same.txt missing.txt")]
    [InlineData("always", 0, "same.txt missing.txt changed.txt older.txt touched.txt")]
    [InlineData("bare", 0, "same.txt missing.txt changed.txt older.txt touched.txt")]
    [InlineData("if-changed", 0, "same.txt missing.txt changed.txt older.txt touched.txt")]
    [InlineData("if-newer", 0, "same.txt missing.txt older.txt")]
    public void Each_overwrite_mode_on_a_target_with_extra_changed_and_older_files(string mode, int exit, string fromSnapshot)
    {
        var target = Prepared("t");
        string[] modeArgs = mode switch { "" => [], "bare" => ["--overwrite"], _ => ["--overwrite", mode] };
        var r = _cli.Run(["-r", _cli.Repo, "restore", "latest", "--target", target, "--json", .. modeArgs]);
        Assert.True(r.ExitCode == exit, r.ToString());
        var summary = JsonOutput.Result(r.Stdout);
        Assert.Equal(mode is "" ? "never" : mode is "bare" ? "always" : mode, summary.GetProperty("overwrite").GetString());

        var good = fromSnapshot.Split(' ');
        foreach (var name in new[] { "same.txt", "missing.txt", "changed.txt", "older.txt", "touched.txt" })
        {
            bool asInSnapshot = Text(target, _src, name) == File.ReadAllText(Path.Combine(_src, name))
                                && File.GetLastWriteTimeUtc(Path.Combine(target + _src, name)) == SnapshotTime;
            Assert.True(good.Contains(name) == asInSnapshot, $"{mode}: {name}");
        }
        if (mode is "")
        {
            Assert.Contains("left as it is (exists and differs): " + Path.Combine(_src, "changed.txt"), r.Stderr);
            Assert.Contains("use --overwrite", r.Stderr);
        }
        else
        {
            Assert.Equal("", r.Stderr);
        }
        Assert.Equal("not in the snapshot", Text(target, _src, "extra.txt")); // no --delete: extras stay
    }

    [Fact]
    public void Overwrite_before_the_snapshot_or_with_an_unknown_mode_is_one_clear_line()
    {
        foreach (var args in new[] { new[] { "restore", "--overwrite", "latest", "--target", "t" }, ["restore", "latest", "--target", "t", "--overwrite", "sometimes"] })
        {
            var r = _cli.Run(["-r", _cli.Repo, .. args]);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("--overwrite takes always, if-changed, if-newer, never or nothing", r.Stderr);
            Assert.DoesNotContain("   at ", r.Stderr);
        }
        Assert.False(Directory.Exists(_cli.Dir.Combine("t")));
    }

    [Fact]
    public void Dry_run_lists_and_changes_nothing_then_delete_and_verify_make_the_target_match()
    {
        var target = Prepared("t");
        File.WriteAllText(Path.Combine(target, "outside.txt"), "at the target's root, in no snapshot path");
        var before = DataGen.Listing(target);

        var dry = _cli.Ok("restore", "latest", "--target", target, "--overwrite", "if-changed", "--delete", "--dry-run", "-v");
        Assert.Equal(before, DataGen.Listing(target));
        var lines = dry.Stdout.Split('\n');
        string Line(string action, string name) => $"{action,-9} {(name.StartsWith('/') ? name : Path.Combine(_src, name))}";
        foreach (var (action, name) in new[] { ("overwrite", "changed.txt"), ("overwrite", "older.txt"), ("unchanged", "touched.txt"), ("unchanged", "same.txt"),
                     ("restore", "missing.txt"), ("delete", "extra.txt"), ("delete", "sub/extra.log"), ("delete", "sub/extra-dir/x"), ("delete", "sub/extra-dir"), ("delete", "/outside.txt") })
            Assert.Contains(lines, l => l.StartsWith(Line(action, name), StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("dry run, nothing was changed: restoring snapshot ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("would replace") && l.Contains("2 existing"));
        Assert.Contains(lines, l => l.Contains("would delete") && l.Contains("5 not in the snapshot"));

        var json = JsonOutput.Lines(_cli.Ok("restore", "latest", "--target", target, "--overwrite", "if-changed", "--delete", "--dry-run", "--json", "-v").Stdout);
        Assert.Equal(before, DataGen.Listing(target));
        Assert.Equal(11, json.Count(l => l.GetProperty("message_type").GetString() == "verbose_status"));
        var planned = json[^1];
        Assert.True(planned.GetProperty("dry_run").GetBoolean());
        Assert.Equal((2, 5), (planned.GetProperty("overwritten").GetInt64(), planned.GetProperty("deleted").GetInt64()));

        // Scoped: only sub/, and *.log out of scope: sub/extra-dir goes, sub/extra.log and extra.txt stay.
        var scoped = JsonOutput.Result(_cli.Ok("restore", "latest", "--target", target, "--delete", "--include", Path.Combine(_src, "sub"), "--exclude", "*.log", "--json").Stdout);
        Assert.Equal(2, scoped.GetProperty("deleted").GetInt64());
        Assert.False(Directory.Exists(Path.Combine(target + _src, "sub/extra-dir")));
        Assert.True(File.Exists(Path.Combine(target + _src, "sub/extra.log")));
        Assert.True(File.Exists(Path.Combine(target + _src, "extra.txt")));

        var done = JsonOutput.Result(_cli.Ok("restore", "latest", "--target", target, "--overwrite", "if-changed", "--delete", "--verify", "--json").Stdout);
        Assert.False(done.GetProperty("dry_run").GetBoolean());
        Assert.Equal(3, done.GetProperty("deleted").GetInt64());
        Assert.Equal(3, done.GetProperty("verified").GetInt64()); // changed.txt, older.txt, missing.txt were written
        Assert.Equal(0, done.GetProperty("verify_failures").GetArrayLength());
        Assert.Equal(["src"], Directory.GetFileSystemEntries(target + Path.GetDirectoryName(_src)).Select(Path.GetFileName));
        Assert.False(File.Exists(Path.Combine(target, "outside.txt")));
        Assert.Equal(DataGen.Digest(_src), DataGen.Digest(target + _src));
        TreeFixture.AssertSame(_src, target + _src);

        var text = _cli.Ok("restore", "latest", "--target", _cli.Dir.Combine("fresh"), "--verify");
        Assert.Contains("  verified  6 files, 0 mismatched", text.Stdout);
    }

    [Fact]
    public void Delete_refuses_the_root_and_the_home_directory_without_force()
    {
        var home = _cli.Dir.CreateDirectory("home");
        File.WriteAllText(Path.Combine(home, "precious"), "x");
        foreach (var (target, env) in new[] { ("/", (Dictionary<string, string?>?)null), (home, new() { ["HOME"] = home }), (home + "/", new() { ["HOME"] = home }) })
        {
            var r = _cli.Run(["-r", _cli.Repo, "restore", "latest", "--target", target, "--delete"], env);
            Assert.Equal(2, r.ExitCode);
            var line = Assert.Single(r.StderrLines);
            Assert.Contains("--force", line);
            Assert.Contains("--dry-run", line);
        }
        Assert.Equal(["precious"], Directory.GetFileSystemEntries(home).Select(Path.GetFileName));
        // A dry run needs no --force: it changes nothing.
        var dry = JsonOutput.Result(_cli.Run(["-r", _cli.Repo, "restore", "latest", "--target", home, "--delete", "--dry-run", "--json"], new() { ["HOME"] = home }).Stdout);
        Assert.Equal(1, dry.GetProperty("deleted").GetInt64());
        Assert.True(File.Exists(Path.Combine(home, "precious")));
        var forced = JsonOutput.Result(_cli.Run(["-r", _cli.Repo, "restore", "latest", "--target", home, "--delete", "--force", "--json"], new() { ["HOME"] = home }).Stdout);
        Assert.Equal(1, forced.GetProperty("deleted").GetInt64());
        Assert.False(File.Exists(Path.Combine(home, "precious")));
    }

    [Fact]
    public void Hard_links_come_back_as_links()
    {
        var dir = _cli.Dir.CreateDirectory("linked");
        File.WriteAllText(Path.Combine(dir, "a"), "one file, two names");
        Tool.Ok("ln", Path.Combine(dir, "a"), Path.Combine(dir, "b"));
        _cli.Ok("backup", dir);
        var target = _cli.Dir.Combine("out");
        _cli.Ok("restore", "latest", "--target", target, "--verify");
        var inodes = new[] { "a", "b" }.Select(n => Tool.Ok("stat", "-c", "%i %h", Path.Combine(target + dir, n)).Trim()).ToArray();
        Assert.Equal(inodes[0], inodes[1]);
        Assert.EndsWith(" 2", inodes[0]);
    }

    public void Dispose() => _cli.Dispose();
}
