using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd;

/// <summary>
/// Two backups of one path set on one put-only host must not run at once (their journals would interleave, and each
/// would record its snapshot as the newest): the second gets one clear line and a non-zero exit code while the first
/// holds the lock. The overlap is made, not hoped for: the first backs up standard input, which the test holds open,
/// so it is still running (it took the lock and wrote its process ID beside it, which the test waits for through a
/// file watcher) when the second starts and ends; then the test feeds it and it finishes normally.
/// </summary>
public sealed class PutOnlyLockTests : IDisposable
{
    private readonly DedupCli _cli = new();

    [Fact]
    public async Task SecondBackupOfTheSamePaths_WhileTheFirstRuns_IsRefusedInOneLine()
    {
        Assert.True(_cli.Init().ExitCode == 0);
        var pass = _cli.Dir.Combine("db1.pass");
        File.WriteAllText(pass, "db1 password\n");
        var enrolment = _cli.Dir.Combine("db1.enrol");
        _cli.Ok(["key", "add", "--write-only", "--host", "db1", "--new-password-file", pass, "--enroll", enrolment, .. DedupCli.FastKdf]);
        var stateBase = _cli.Dir.Combine("db1-state");
        Directory.CreateDirectory(stateBase);
        var host = new Dictionary<string, string?>
        {
            ["DEDUP_PASSWORD_FILE"] = pass, ["DEDUP_STATE_DIR"] = stateBase, ["DEDUP_CACHE_DIR"] = _cli.Dir.Combine("db1-cache"),
        };
        Assert.Equal(0, _cli.Run(["-r", _cli.Repo, "enroll", enrolment], host).ExitCode);
        string[] backup = ["-r", _cli.Repo, "backup", "--stdin", "--stdin-filename", "db.sql", "--json"];

        // Yesterday's backup: the path set's state folder exists, so the watcher below sees the lock taken inside it
        // (inotify only watches a new subfolder once it has seen it created, which can be after a file is written there).
        Assert.Equal(0, _cli.Run(backup, host, stdin: "yesterday"u8.ToArray()).ExitCode);

        // The first takes the lock, then waits for its input.
        using var watcher = new FileSystemWatcher(stateBase, "lock.pid") { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size };
        var locked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int firstPid = 0;
        void Seen(string path)
        {
            try
            {
                if (File.ReadAllText(path).Trim() == Volatile.Read(ref firstPid).ToString(System.Globalization.CultureInfo.InvariantCulture)) locked.TrySetResult();
            }
            catch (IOException)
            {
            }
        }
        watcher.Created += (_, e) => Seen(e.FullPath);
        watcher.Changed += (_, e) => Seen(e.FullPath);
        watcher.EnableRaisingEvents = true;
        using var first = _cli.StartWithInput(backup, host);
        var firstOut = first.StandardOutput.ReadToEndAsync();
        var firstErr = first.StandardError.ReadToEndAsync();
        Volatile.Write(ref firstPid, first.Id);
        foreach (var f in Directory.EnumerateFiles(stateBase, "lock.pid", SearchOption.AllDirectories)) Seen(f); // written before the watcher saw it
        var ready = await Task.WhenAny(locked.Task, first.WaitForExitAsync(), Task.Delay(TimeSpan.FromMinutes(2)));
        Assert.True(ready == locked.Task, $"the first backup never held the lock (exited: {first.HasExited}; {(first.HasExited ? await firstErr : "")})");

        // The second, meanwhile: refused in one line, with the holder named, while the first still runs.
        var second = _cli.Run(backup, host, stdin: "other"u8.ToArray());
        Assert.False(first.HasExited, "the first backup ended before the second ran: they did not overlap");
        Assert.True(second.ExitCode != 0, second.ToString());
        var line = Assert.Single(second.StderrLines);
        Assert.StartsWith("dedup: another backup of these paths is running on this host", line);
        Assert.Contains($"process {first.Id}", line);
        Assert.DoesNotContain("   at ", second.Stderr);

        // The first goes on and finishes; the lock is gone with it, and the next backup runs.
        var dump = new byte[300_000];
        new Random(7).NextBytes(dump);
        await first.StandardInput.BaseStream.WriteAsync(dump);
        first.StandardInput.Close();
        await first.WaitForExitAsync();
        Assert.True(first.ExitCode == 0, $"the first backup failed: {await firstErr}");
        var id = JsonDocument.Parse((await firstOut).Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement.GetProperty("snapshot_id").GetString()!;
        var third = _cli.Run(backup, host, stdin: dump);
        Assert.True(third.ExitCode == 0, third.ToString());
        // Only yesterday's, the first and the third stored snapshots; the admin dumps the first byte-identical.
        Assert.Equal(dump, _cli.Ok("dump", id, "/db.sql").StdoutBytes);
        Assert.Equal(3, JsonDocument.Parse(_cli.Ok("snapshots", "--json").Stdout).RootElement.GetArrayLength());
    }

    public void Dispose() => _cli.Dispose();
}
