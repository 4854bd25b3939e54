using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd.Cli;

/// <summary>
/// A profile's hooks around 'dedup -p NAME backup', as 'dedup help profiles' documents them: order, environment,
/// the failing before-hook's exit code 4, failure hooks after an error and after Ctrl-C (exit 130).
/// </summary>
public sealed class HookTests : IDisposable
{
    private readonly DedupCli _cli = new();
    private readonly string _config, _log, _src;

    public HookTests()
    {
        _config = _cli.Dir.Combine("config.toml");
        _log = _cli.Dir.Combine("hooks.log");
        _src = _cli.Dir.CreateDirectory("src");
        File.WriteAllText(Path.Combine(_src, "f.txt"), "content");
        _cli.Init();
    }

    private void WriteProfile(string hooks) => File.WriteAllText(_config, $"""
        [profiles.home]
        repository = "{_cli.Repo}"
        paths = ["{_src}"]

        [profiles.home.hooks]
        {hooks}
        """);

    private CliResult Run(Dictionary<string, string?>? env = null, bool withPassword = true, string[]? extra = null)
    {
        var all = new Dictionary<string, string?> { ["DEDUP_CONFIG"] = _config, ["LOG"] = _log };
        foreach (var (k, v) in env ?? []) all[k] = v;
        return _cli.Run(["-p", "home", "backup", "--json", .. extra ?? []], all, withPassword: withPassword);
    }

    private string[] Log() => File.Exists(_log) ? File.ReadAllLines(_log) : [];

    private int SnapshotCount() => JsonDocument.Parse(_cli.Ok("snapshots", "--json").Stdout).RootElement.GetArrayLength();

    [Fact]
    public void Hooks_RunInOrder_WithTheDocumentedEnvironment_AndNeverTheirOutputOnStdout()
    {
        WriteProfile("""
            before = ['echo "before1 $DEDUP_HOOK $DEDUP_PROFILE $DEDUP_VERB $DEDUP_REPOSITORY ${DEDUP_PASSWORD:-no-password} [$DEDUP_SNAPSHOT_ID]" >> "$LOG"', 'echo before2 >> "$LOG"; echo hook-says-hello']
            after = 'echo "after $DEDUP_HOOK $DEDUP_EXIT_CODE $DEDUP_SNAPSHOT_ID [$DEDUP_ERROR]" >> "$LOG"'
            on-failure = 'echo "on-failure" >> "$LOG"'
            always = ['echo "always1 $DEDUP_EXIT_CODE $DEDUP_SNAPSHOT_ID" >> "$LOG"', 'echo always2 >> "$LOG"']
            """);
        var r = Run(new() { ["DEDUP_PASSWORD"] = "correct horse battery staple" }, withPassword: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        var id = JsonOutput.Result(r.Stdout).GetProperty("snapshot_id").GetString()!;
        Assert.Equal(
        [
            $"before1 before home backup {_cli.Repo} no-password []",
            "before2",
            $"after after 0 {id} []",
            $"always1 0 {id}",
            "always2",
        ], Log());
        // Every stdout line is dedup's JSON; the hook's own output went to stderr.
        Assert.All(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => JsonDocument.Parse(l));
        Assert.Contains("hook-says-hello", r.Stderr);
        Assert.DoesNotContain("hook-says-hello", r.Stdout);
    }

    [Fact]
    public void AFailingBeforeHook_StopsTheBackup_WithExitCode4_AndTheFailureHooksRun()
    {
        WriteProfile("""
            before = ['echo b1 >> "$LOG"', 'exit 7', 'echo b3 >> "$LOG"']
            after = 'echo after >> "$LOG"'
            on-failure = 'echo "on-failure $DEDUP_EXIT_CODE [$DEDUP_SNAPSHOT_ID] $DEDUP_ERROR" >> "$LOG"'
            always = 'echo "always $DEDUP_EXIT_CODE" >> "$LOG"'
            """);
        var r = Run();
        Assert.Equal(4, r.ExitCode);
        var error = "the before hook 'exit 7' failed with exit code 7; nothing was backed up";
        Assert.Contains("dedup: " + error, r.StderrLines);
        Assert.Equal(["b1", $"on-failure 4 [] {error}", "always 4"], Log());
        Assert.Equal(0, SnapshotCount());
        Assert.Empty(r.Stdout);
    }

    [Fact]
    public void AFailedBackup_RunsOnFailureAndAlways_WithItsExitCodeAndError()
    {
        WriteProfile("""
            after = 'echo after >> "$LOG"'
            on-failure = 'echo "on-failure $DEDUP_EXIT_CODE $DEDUP_ERROR" >> "$LOG"'
            always = 'echo "always $DEDUP_EXIT_CODE" >> "$LOG"'
            """);
        var wrong = _cli.Dir.Combine("wrong");
        File.WriteAllText(wrong, "wrong");
        var r = Run(new() { ["DEDUP_PASSWORD_FILE"] = wrong });
        Assert.Equal(11, r.ExitCode);
        var log = Log();
        Assert.Equal(2, log.Length);
        Assert.StartsWith("on-failure 11 ", log[0]);
        Assert.Contains("password", log[0], StringComparison.OrdinalIgnoreCase);
        Assert.Equal("always 11", log[1]);
    }

    [Fact]
    public void AFailingAfterHook_KeepsTheSnapshot_AndTheRunFails()
    {
        WriteProfile("""
            after = ['exit 3', 'echo after2 >> "$LOG"']
            always = 'echo "always $DEDUP_EXIT_CODE" >> "$LOG"'
            """);
        var r = Run();
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("dedup: the after hook 'exit 3' failed with exit code 3", r.StderrLines);
        Assert.Equal(["after2", "always 0"], Log());
        Assert.Equal(1, SnapshotCount());
    }

    [Fact]
    public void CtrlC_WhileABeforeHookRuns_EndsWith130_AndTheCleanupHooksStillRun()
    {
        var started = _cli.Dir.Combine("started.fifo");
        var proceed = _cli.Dir.Combine("proceed.fifo");
        foreach (var fifo in new[] { started, proceed }) Assert.Equal(0, Shell($"mkfifo '{fifo}'"));
        WriteProfile($"""
            before = ['echo started > "{started}"; read line < "{proceed}"; echo "before done $line" >> "$LOG"']
            after = 'echo after >> "$LOG"'
            on-failure = 'echo "on-failure $DEDUP_EXIT_CODE" >> "$LOG"'
            always = 'echo "always $DEDUP_EXIT_CODE" >> "$LOG"'
            """);
        _cli.OnStarted = p =>
        {
            _cli.OnStarted = null; // the backup only, not the commands that check on it
            // The hook says it runs (a FIFO read blocks until it does), dedup gets SIGINT, then the hook may finish.
            var hookStarted = Task.Run(() => File.ReadAllText(started));
            if (!hookStarted.Wait(TimeSpan.FromMinutes(2)))
            {
                File.WriteAllText(started, ""); // releases the reader
                Assert.Fail("the before hook never started");
            }
            Assert.Equal("started\n", hookStarted.Result);
            Assert.Equal(0, Shell($"kill -INT {p.Id}"));
            File.WriteAllText(proceed, "go\n");
        };
        var r = Run();
        Assert.Equal(130, r.ExitCode);
        Assert.Contains(r.StderrLines, l => l.StartsWith("dedup: interrupted", StringComparison.Ordinal));
        Assert.Equal(["before done go", "on-failure 130", "always 130"], Log());
        Assert.Equal(0, SnapshotCount());
    }

    private static int Shell(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { UseShellExecute = false })!;
        p.WaitForExit();
        return p.ExitCode;
    }

    public void Dispose() => _cli.Dispose();
}
