using Xunit;
using System.Diagnostics;
using System.Text;
using Dedup.TestKit;

namespace Dedup.EndToEnd;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr, byte[] StdoutBytes)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

/// <summary>
/// Runs the built dedup.dll as a real process, as a user would, with a clean environment: the caller's
/// DEDUP_* variables never leak in, and stdin is a pipe, so the CLI is never interactive.
/// DEDUP_TEST_BINARY names a native (NativeAOT) dedup to run instead of "dotnet dedup.dll".
/// </summary>
public sealed class DedupCli : IDisposable
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "dedup.dll");
    public static readonly string? NativeBinary = Environment.GetEnvironmentVariable("DEDUP_TEST_BINARY") is { Length: > 0 } b ? b : null;
    private readonly TempDir _dir = new("dedup-e2e");

    public DedupCli()
    {
        Repo = _dir.Combine("repo");
        PasswordFile = _dir.Combine("password");
        File.WriteAllText(PasswordFile, "correct horse battery staple\n");
    }

    public string Repo { get; }
    public string PasswordFile { get; }
    public TempDir Dir => _dir;

    /// <summary>Small Argon2 parameters: the default (64 MiB, 3 passes) would cost seconds per command.</summary>
    public static readonly string[] FastKdf = ["--argon2-memory", "1024", "--argon2-iterations", "1"];

    public CliResult Init() => Run(["-r", Repo, "init", .. FastKdf]);

    /// <summary>Called once the process runs, before waiting for it; fault tests use it to act mid-command.</summary>
    public Action<Process>? OnStarted { get; set; }

    private ProcessStartInfo StartInfo(string[] args, Dictionary<string, string?>? env, bool withPassword)
    {
        Assert.True(File.Exists(NativeBinary ?? Dll), $"dedup not found at {NativeBinary ?? Dll}");
        var psi = new ProcessStartInfo(NativeBinary ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (NativeBinary is null) psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var name in new[] { "DEDUP_PASSWORD", "DEDUP_PASSWORD_FILE", "DEDUP_REPOSITORY", "DEDUP_DEBUG", "DEDUP_FROM_PASSWORD", "DEDUP_FROM_PASSWORD_FILE",
                     "DEDUP_S3_RETRIES", "DEDUP_KEY", "DEDUP_KDF_CEILING", "DEDUP_CONFIG", "DEDUP_PROGRESS_FPS",
                     "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE" })
            psi.Environment.Remove(name);
        if (withPassword) psi.Environment["DEDUP_PASSWORD_FILE"] = PasswordFile;
        // Each test has its own cache, as each test host would: the user's ~/.cache is never touched.
        psi.Environment["DEDUP_CACHE_DIR"] = _dir.Combine("cache");
        psi.Environment["DEDUP_STATE_DIR"] = _dir.Combine("state");
        if (env is not null)
            foreach (var (k, v) in env)
                if (v is null) psi.Environment.Remove(k);
                else psi.Environment[k] = v;
        return psi;
    }

    /// <summary>Starts a long-running command (mount) against <see cref="Repo"/> and returns without waiting for it.</summary>
    public RunningCli Start(params string[] args)
    {
        var p = Process.Start(StartInfo(["-r", Repo, .. args], null, withPassword: true))!;
        p.StandardInput.Close();
        return new RunningCli(p, string.Join(' ', args));
    }

    /// <summary>Starts a long-running command with these exact arguments (give -r yourself) and environment.</summary>
    public RunningCli StartWith(string[] args, Dictionary<string, string?> env)
    {
        var p = Process.Start(StartInfo(args, env, withPassword: true))!;
        p.StandardInput.Close();
        return new RunningCli(p, string.Join(' ', args));
    }

    /// <summary>Starts a command and leaves its standard input open: the test decides when the command may read on.</summary>
    public Process StartWithInput(string[] args, Dictionary<string, string?>? env = null) => Process.Start(StartInfo(args, env, withPassword: true))!;

    public CliResult Run(string[] args, Dictionary<string, string?>? env = null, byte[]? stdin = null, bool withPassword = true)
    {
        var psi = StartInfo(args, env, withPassword);
        using var p = Process.Start(psi)!;
        var stdout = new MemoryStream();
        var outTask = p.StandardOutput.BaseStream.CopyToAsync(stdout);
        var errTask = p.StandardError.ReadToEndAsync();
        if (stdin is not null) p.StandardInput.BaseStream.Write(stdin);
        p.StandardInput.Close();
        OnStarted?.Invoke(p);
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"dedup {string.Join(' ', args)} did not finish in 2 minutes");
        }
        outTask.GetAwaiter().GetResult();
        var bytes = stdout.ToArray();
        return new CliResult(p.ExitCode, Encoding.UTF8.GetString(bytes), errTask.GetAwaiter().GetResult(), bytes);
    }

    /// <summary>Runs against <see cref="Repo"/> and asserts success.</summary>
    public CliResult Ok(params string[] args)
    {
        var r = Run(["-r", Repo, .. args]);
        Assert.True(r.ExitCode == 0, $"dedup {string.Join(' ', args)} failed: {r}");
        return r;
    }

    /// <summary>Bytes the repository occupies (sum of object sizes; block rounding would hide small additions).</summary>
    public long RepoBytes() => Directory.EnumerateFiles(Repo, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    public void Dispose() => _dir.Dispose();
}

/// <summary>A dedup process left running (mount): read its stdout line by line, signal it, collect its result.</summary>
public sealed class RunningCli : IDisposable
{
    private readonly Process _p;
    private readonly string _command;
    private readonly StringBuilder _stdout = new();
    private readonly Task<string> _stderr;

    internal RunningCli(Process p, string command)
    {
        _p = p;
        _command = command;
        _stderr = p.StandardError.ReadToEndAsync();
    }

    public int Id => _p.Id;

    /// <summary>Reads stdout until a line starts with <paramref name="prefix"/>; fails with the output if the process ends first.</summary>
    public string WaitForLine(string prefix, TimeSpan bound)
    {
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            var read = _p.StandardOutput.ReadLineAsync();
            if (!read.Wait(deadline - DateTime.UtcNow > TimeSpan.Zero ? deadline - DateTime.UtcNow : TimeSpan.Zero))
                throw new TimeoutException($"dedup {_command} printed no line starting '{prefix}' within {bound}; stdout so far: {_stdout}");
            var line = read.Result;
            if (line is null)
            {
                _p.WaitForExit();
                throw new InvalidOperationException($"dedup {_command} ended (exit {_p.ExitCode}) before printing '{prefix}': stdout: {_stdout} stderr: {_stderr.Result}");
            }
            _stdout.AppendLine(line);
            if (line.StartsWith(prefix, StringComparison.Ordinal)) return line;
        }
    }

    /// <summary>Sends a signal by name ("INT", "TERM") with kill(1).</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, _p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    public CliResult WaitForExit(TimeSpan bound)
    {
        if (!_p.WaitForExit(bound))
        {
            _p.Kill(entireProcessTree: true);
            throw new TimeoutException($"dedup {_command} did not end within {bound}");
        }
        _stdout.Append(_p.StandardOutput.ReadToEnd());
        var stdout = _stdout.ToString();
        return new CliResult(_p.ExitCode, stdout, _stderr.Result, Encoding.UTF8.GetBytes(stdout));
    }

    public void Dispose()
    {
        if (!_p.HasExited) _p.Kill(entireProcessTree: true);
        _p.Dispose();
    }
}
