using System.Text.Json;
using Dedup.TestKit;
using Xunit;

namespace Dedup.EndToEnd;

/// <summary>
/// 'dedup mount' as a user runs it: a real process, a real FUSE mount (these tests fail, not skip, without FUSE),
/// browsed and copied with the system's ls, cp and diff, and ended from outside or by a signal.
/// </summary>
public sealed class MountTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);
    private readonly DedupCli _cli = new();
    private readonly string _mountPoint;

    public MountTests() => _mountPoint = _cli.Dir.CreateDirectory("mnt");

    /// <summary>TreeFixture's entries plus what a mount must also get right: multi-chunk files, depth, odd names.</summary>
    private string BuildSource()
    {
        var src = _cli.Dir.Combine("src");
        TreeFixture.Build(src, seed: 16);
        var rng = new Random(16);
        // Several chunks at the default 1 MiB average (4 MiB at most), so reads cross blob boundaries.
        var big = new byte[11 * 1024 * 1024 + 5];
        rng.NextBytes(big);
        File.WriteAllBytes(Path.Combine(src, "large", "several chunks.bin"), big);
        var deep = Path.Combine(src, "a", "b c", "d\u00e9j\u00e0 vu", "e", "f");
        Directory.CreateDirectory(deep);
        foreach (var size in new[] { 0, 1, 4095, 4096, 4097, 65_536, 131_073, 1_048_577 })
        {
            var data = new byte[size];
            rng.NextBytes(data);
            File.WriteAllBytes(Path.Combine(deep, $"size {size}.bin"), data);
        }
        File.WriteAllText(Path.Combine(src, "a", "tab\tand 'quote' and \u65e5\u672c.txt"), "odd name");
        File.CreateSymbolicLink(Path.Combine(deep, "up"), "../../../../../large/several chunks.bin");
        File.SetUnixFileMode(Path.Combine(src, "a", "b c"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return src;
    }

    /// <summary>A repository with one snapshot of a folder holding f.txt ("x"); returns the folder.</summary>
    private string BackUpOneFile()
    {
        var src = _cli.Dir.CreateDirectory("small");
        File.WriteAllText(Path.Combine(src, "f.txt"), "x");
        _cli.Init();
        _cli.Ok("backup", src);
        return src;
    }

    private RunningCli StartMount(params string[] extra)
    {
        var mount = _cli.Start(["mount", _mountPoint, .. extra]);
        try
        {
            mount.WaitForLine("Mounted ", Bound);
            Assert.Equal("fuse.dedup", MountTable.TypeAt(_mountPoint));
            return mount;
        }
        catch
        {
            mount.Dispose();
            MountTable.ForceUnmount(_mountPoint);
            throw;
        }
    }

    [Fact]
    public void CpAFromLatest_IsIdenticalToTheSource_AndUnmountingLeavesNothing()
    {
        var src = BuildSource();
        Assert.Equal(0, _cli.Init().ExitCode);
        var first = JsonOutput.Result(_cli.Ok("backup", src, "--host", "laptop", "--json").Stdout).GetProperty("snapshot_id").GetString()!;
        File.WriteAllText(Path.Combine(src, "added later.txt"), "second snapshot");
        var second = JsonOutput.Result(_cli.Ok("backup", src, "--host", "server", "--tag", "nightly", "--json").Stdout).GetProperty("snapshot_id").GetString()!;

        using var mount = StartMount();
        try
        {
            Assert.Equal(["hosts", "ids", "latest", "snapshots", "tags"], Ls(_mountPoint));
            Assert.Equal(["laptop", "server"], Ls(Path.Join(_mountPoint, "hosts")));
            Assert.Equal(new[] { first[..8], second[..8] }.Order(StringComparer.Ordinal), Ls(Path.Join(_mountPoint, "ids")));
            Assert.Equal(["nightly"], Ls(Path.Join(_mountPoint, "tags")));
            Assert.Contains("latest", Ls(Path.Join(_mountPoint, "hosts", "laptop")));
            Assert.Equal(0, Tool.Run("ls", "-lR", _mountPoint).ExitCode);

            // The newest snapshot through the root 'latest' link, copied out with cp -a and compared with diff -r.
            var copy = _cli.Dir.Combine("copy");
            var cp = Tool.Run("cp", "-a", Path.Join(_mountPoint, "latest", src) + "/.", copy);
            Assert.True(cp.ExitCode == 0 && cp.Stderr.Length == 0, $"cp -a: {cp}");
            var diff = Tool.Run("diff", "-r", "--no-dereference", src, copy);
            Assert.True(diff.ExitCode == 0, $"diff -r: {diff}");
            TreeFixture.AssertSame(src, copy);

            // The older snapshot by its ID lacks the file added later, and the host's latest is that snapshot.
            Assert.False(File.Exists(Path.Join(_mountPoint, "ids", first[..8], src, "added later.txt")));
            Assert.True(File.Exists(Path.Join(_mountPoint, "hosts", "laptop", "latest", src, "large", "several chunks.bin")));
            Assert.Equal(File.ReadAllBytes(Path.Join(src, "large", "several chunks.bin")),
                File.ReadAllBytes(Path.Join(_mountPoint, "ids", first[..8], src, "large", "several chunks.bin")));

            Tool.Ok("fusermount3", "-u", _mountPoint);
            var result = mount.WaitForExit(Bound);
            Assert.True(result.ExitCode == 0, $"dedup mount: {result}");
            Assert.Contains("Unmounted ", result.Stdout);
            Assert.Empty(result.Stderr);
            Assert.False(MountTable.IsMounted(_mountPoint));
            Assert.Empty(Directory.GetFileSystemEntries(_mountPoint));
        }
        finally
        {
            MountTable.ForceUnmount(_mountPoint);
        }
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public void ASignal_UnmountsAndEndsWithExitCode0(string signal)
    {
        var src = BackUpOneFile();
        using var mount = StartMount();
        try
        {
            Assert.Equal("x", File.ReadAllText(Path.Join(_mountPoint, "latest", src, "f.txt")));
            mount.Signal(signal);
            var result = mount.WaitForExit(Bound);
            Assert.True(result.ExitCode == 0, $"dedup mount after SIG{signal}: {result}");
            Assert.Contains("Unmounted ", result.Stdout);
            Assert.False(MountTable.IsMounted(_mountPoint));
            Assert.Empty(Directory.GetFileSystemEntries(_mountPoint));
        }
        finally
        {
            MountTable.ForceUnmount(_mountPoint);
        }
    }

    [Fact]
    public void AKilledMountProcess_LeavesNoBrokenMountBehind()
    {
        BackUpOneFile();
        using var mount = StartMount();
        try
        {
            // The watcher that auto_unmount relies on must be there before the kill; if it is not, the failure says so
            // (one CI run saw the mount outlive the kill with no watcher left, and could not tell which came first).
            var watcher = Tool.Run("ps", "-o", "pid=,cmd=", "--ppid", mount.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).Stdout;
            Assert.True(watcher.Contains("fusermount3", StringComparison.Ordinal), $"no fusermount3 watcher before the kill: '{watcher.Trim()}'");
            mount.Signal("KILL");
            Assert.Equal(137, mount.WaitForExit(Bound).ExitCode);
            // fusermount3 (auto_unmount) notices the dead process and unmounts; without it the directory would answer
            // "Transport endpoint is not connected" until someone ran fusermount3 -u.
            try
            {
                MountTable.WaitUntilUnmounted(_mountPoint, Bound);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message}; processes: {Tool.Run("ps", "-eo", "pid,ppid,stat,wchan:32,cmd").Stdout}; mountinfo: "
                    + string.Join(" | ", File.ReadLines("/proc/self/mountinfo").Where(l => l.Contains(_mountPoint, StringComparison.Ordinal))), e);
            }
            Assert.Empty(Directory.GetFileSystemEntries(_mountPoint));
        }
        finally
        {
            MountTable.ForceUnmount(_mountPoint);
        }
    }

    [Fact]
    public void AMountLeftBrokenByAnotherTool_IsNamedWithTheFix()
    {
        BackUpOneFile();
        try
        {
            // Killing fusermount3's watcher first, then dedup: the mount stays, with nobody serving it.
            using (var mount = StartMount())
            {
                var watchers = Tool.Ok("ps", "-o", "pid=", "--ppid", mount.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                Assert.Single(watchers);
                Tool.Ok("kill", "-KILL", watchers[0]);
                mount.Signal("KILL");
                Assert.Equal(137, mount.WaitForExit(Bound).ExitCode);
            }
            Assert.Contains("Transport endpoint is not connected", Tool.Run("ls", _mountPoint).Stderr);
            var again = _cli.Run(["-r", _cli.Repo, "mount", _mountPoint]);
            Assert.Equal(1, again.ExitCode);
            Assert.Equal($"dedup: {_mountPoint} is a FUSE mount whose process has ended; unmount it with 'fusermount3 -u {_mountPoint}' and try again",
                Assert.Single(again.StderrLines));
        }
        finally
        {
            MountTable.ForceUnmount(_mountPoint);
        }
        Assert.Empty(Directory.GetFileSystemEntries(_mountPoint));
    }

    [Fact]
    public void HostOption_ShowsOnlyThatHost()
    {
        var src = _cli.Dir.CreateDirectory("small");
        File.WriteAllText(Path.Combine(src, "f.txt"), "x");
        _cli.Init();
        _cli.Ok("backup", src, "--host", "one");
        _cli.Ok("backup", src, "--host", "two");
        using var mount = StartMount("--host", "two");
        try
        {
            Assert.Equal(["two"], Ls(Path.Join(_mountPoint, "hosts")));
            Assert.Single(Ls(Path.Join(_mountPoint, "ids")));
            Tool.Ok("fusermount3", "-u", _mountPoint);
            Assert.Equal(0, mount.WaitForExit(Bound).ExitCode);
        }
        finally
        {
            MountTable.ForceUnmount(_mountPoint);
        }
    }

    [Fact]
    public void BadMountPoints_AndWriteOnlyKeys_GetOneLine()
    {
        _cli.Init();
        var missing = _cli.Run(["-r", _cli.Repo, "mount", _cli.Dir.Combine("absent")]);
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Equal($"dedup: the mount point {_cli.Dir.Combine("absent")} is not a directory; create it first (mkdir)", Assert.Single(missing.StderrLines));

        var overRepo = _cli.Run(["-r", _cli.Repo, "mount", _cli.Dir.Path]);
        Assert.Equal(2, overRepo.ExitCode);
        Assert.Contains("is inside the mount point", Assert.Single(overRepo.StderrLines));
        Assert.False(MountTable.IsMounted(_cli.Dir.Path));

        var writerPassword = _cli.Dir.Combine("writer-password");
        File.WriteAllText(writerPassword, "writer");
        _cli.Ok("key", "add", "--write-only", "--host", "web1", "--new-password-file", writerPassword);
        var writeOnly = _cli.Run(["-r", _cli.Repo, "mount", _mountPoint], new() { ["DEDUP_PASSWORD_FILE"] = writerPassword });
        Assert.NotEqual(0, writeOnly.ExitCode);
        Assert.Contains("write-only", Assert.Single(writeOnly.StderrLines));
        Assert.False(MountTable.IsMounted(_mountPoint));
    }

    private static string[] Ls(string dir) => Tool.Ok("ls", "-1", dir).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public void Dispose()
    {
        MountTable.ForceUnmount(_mountPoint);
        _cli.Dispose();
    }
}
