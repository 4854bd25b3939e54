using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd.Cli;

/// <summary>
/// What dedup hands to other programs: systemd units (checked by systemd-analyze verify), completion scripts
/// (loaded in a real bash), and the man page (rendered by man).
/// </summary>
public sealed class ShellIntegrationTests : IDisposable
{
    private readonly DedupCli _cli = new();

    /// <summary>How a shell starts the dedup under test.</summary>
    private static string DedupCommand => DedupCli.NativeBinary is { } native
        ? $"'{native}'"
        : $"dotnet '{Path.Combine(AppContext.BaseDirectory, "dedup.dll")}'";

    [Fact]
    public void ScheduleInstall_WritesUnitsThatSystemdAnalyzeVerifies()
    {
        var config = _cli.Dir.Combine("config.toml");
        File.WriteAllText(config, $"[profiles.home]\nrepository = \"{_cli.Repo}\"\n");
        var units = _cli.Dir.Combine("units");
        var env = new Dictionary<string, string?> { ["DEDUP_CONFIG"] = config };

        var r = _cli.Run(["schedule", "install", "home", "--daily", "02:30", "--unit-dir", units, "--json"], env, withPassword: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        var result = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.False(result.GetProperty("enabled").GetBoolean());
        var service = result.GetProperty("service").GetString()!;
        var timer = result.GetProperty("timer").GetString()!;
        Assert.Equal(Path.Combine(units, "dedup-backup-home.service"), service);
        Assert.Contains("OnCalendar=*-*-* 02:30:00", File.ReadAllText(timer));
        var execStart = File.ReadAllLines(service).Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        Assert.EndsWith(" -p home backup", execStart);
        Assert.Contains($"Environment=DEDUP_CONFIG={config}", File.ReadAllText(service));

        var verify = Run("systemd-analyze", "verify", service, timer);
        Assert.True(verify.Code == 0 && verify.Output.Trim().Length == 0, $"systemd-analyze verify: exit {verify.Code}\n{verify.Output}");
        var calendar = Run("systemd-analyze", "calendar", "*-*-* 02:30:00");
        Assert.True(calendar.Code == 0, calendar.Output);

        var prune = _cli.Run(["schedule", "install", "home", "--verb", "prune", "--on-calendar", "Sun 04:00", "--unit-dir", units], env, withPassword: false);
        Assert.True(prune.ExitCode == 0, prune.ToString());
        var pruneService = Path.Combine(units, "dedup-prune-home.service");
        Assert.Equal(0, Run("systemd-analyze", "verify", pruneService, Path.Combine(units, "dedup-prune-home.timer")).Code);

        Assert.Equal(0, _cli.Run(["schedule", "remove", "home", "--unit-dir", units], env, withPassword: false).ExitCode);
        Assert.False(File.Exists(service) || File.Exists(timer));
        Assert.True(File.Exists(pruneService));
    }

    [Theory]
    [InlineData("nosuch", "--daily", "02:30", "no profile 'nosuch'")]
    [InlineData("home", "--daily", "25:00", "--daily takes a time as HH:MM")]
    [InlineData("home", "--hourly", "--daily", "give either --daily or --hourly, not both")]
    public void ScheduleInstall_RefusesMistakes_BeforeWritingAnything(string profile, string option, string value, string message)
    {
        var config = _cli.Dir.Combine("config.toml");
        File.WriteAllText(config, $"[profiles.home]\nrepository = \"{_cli.Repo}\"\n");
        var units = _cli.Dir.Combine("units");
        string[] args = value.StartsWith("--", StringComparison.Ordinal)
            ? ["schedule", "install", profile, option, value, "02:30", "--unit-dir", units]
            : ["schedule", "install", profile, option, value, "--unit-dir", units];
        var r = _cli.Run(args, new() { ["DEDUP_CONFIG"] = config }, withPassword: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, Assert.Single(r.StderrLines));
        Assert.False(Directory.Exists(units));
    }

    [Theory]
    [InlineData("ba", "backup")]
    [InlineData("backup --one", "--one-file-system")]
    [InlineData("forget --keep-da", "--keep-daily")]
    [InlineData("key ", "add list passwd remove")]
    [InlineData("policy --role ", "admin client put-only write-only")]
    [InlineData("-r /x snap", "snapshots")]
    public void BashCompletion_SuggestsVerbsOptionsAndValues(string typed, string expected)
    {
        var script = _cli.Run(["completion", "bash"], withPassword: false);
        Assert.Equal(0, script.ExitCode);
        var scriptFile = _cli.Dir.Combine("dedup.bash");
        File.WriteAllText(scriptFile, script.Stdout);
        // A function named dedup stands in for the installed binary, as COMP_WORDS[0] names it.
        var probe = $$"""
            dedup() { {{DedupCommand}} "$@"; }
            source '{{scriptFile}}'
            COMP_LINE='dedup {{typed}}'
            read -ra COMP_WORDS <<< "$COMP_LINE"
            [[ "$COMP_LINE" == *' ' ]] && COMP_WORDS+=('')
            COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
            COMP_POINT=${#COMP_LINE}
            _dedup
            printf '%s\n' "${COMPREPLY[@]}" | sort
            complete -p dedup
            """;
        var r = Run("bash", "--norc", "--noprofile", "-c", probe);
        Assert.True(r.Code == 0, r.Output);
        var lines = r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Split(' '), lines.SkipLast(1));
        Assert.Equal("complete -o bashdefault -o default -F _dedup dedup", lines[^1]);
    }

    [Fact]
    public void CompletionInstall_PutsTheScriptWhereTheShellLoadsIt()
    {
        var data = _cli.Dir.Combine("data");
        var r = _cli.Run(["completion", "install", "--json"], new() { ["XDG_DATA_HOME"] = data, ["SHELL"] = "/bin/bash" }, withPassword: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        var path = Path.Combine(data, "bash-completion", "completions", "dedup");
        Assert.Equal(path, JsonDocument.Parse(r.Stdout).RootElement.GetProperty("path").GetString());
        Assert.Equal(_cli.Run(["completion", "bash"], withPassword: false).Stdout, File.ReadAllText(path));

        var fish = _cli.Run(["completion", "install", "--shell", "fish"], new() { ["XDG_CONFIG_HOME"] = _cli.Dir.Combine("config") }, withPassword: false);
        Assert.True(fish.ExitCode == 0, fish.ToString());
        Assert.Contains("complete -c dedup", File.ReadAllText(_cli.Dir.Combine("config", "fish", "completions", "dedup.fish")));
        Assert.Equal(2, _cli.Run(["completion", "install"], new() { ["SHELL"] = "/bin/tcsh" }, withPassword: false).ExitCode);
    }

    [Fact]
    public void ManPage_RendersWithMan_AndSaysWhatTheHelpSays()
    {
        var page = _cli.Run(["help", "--man"], withPassword: false);
        Assert.Equal(0, page.ExitCode);
        var file = _cli.Dir.Combine("dedup.1");
        File.WriteAllText(file, page.Stdout);
        var rendered = Run("man", "-l", "-P", "cat", file);
        Assert.True(rendered.Code == 0, rendered.Output);
        var text = rendered.Output.Replace("\u2010", "-", StringComparison.Ordinal).Replace("\u2212", "-", StringComparison.Ordinal);
        Assert.Contains("--one-file-system", text);
        Assert.Contains("dedup restore SNAPSHOT --target DIR [options]", text);
        Assert.Contains("give either --stdin or paths, not both", text);
        Assert.Contains("a before hook of the profile failed", text);
    }

    private static (int Code, string Output) Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["MANWIDTH"] = "200";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    public void Dispose() => _cli.Dispose();
}
