using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Dedup.TestKit;
using Xunit;

namespace Dedup.Reliability.Infra;

/// <summary>What a finished dedup process left: exit code, output, and how long it ran.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    /// <summary>The exit code .NET reports for a process that died of SIGKILL (128 + 9).</summary>
    public const int SigKill = 137;

    public bool Killed => ExitCode == SigKill;
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The last JSON object on stdout (the summary every verb prints last with --json).</summary>
    public JsonElement Json()
    {
        var line = Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.TrimStart().StartsWith('{'))
                   ?? throw new InvalidOperationException($"no JSON on stdout: {this}");
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:0.00} s\nstdout: {Trim(Stdout)}\nstderr: {Trim(Stderr)}";

    private static string Trim(string s) => s.Length > 3000 ? s[..1500] + " … " + s[^1500..] : s;
}

/// <summary>A running dedup process that a test can kill (SIGKILL) at any moment.</summary>
public sealed class DedupProcess : IDisposable
{
    private readonly Process _p;
    private readonly Task<string> _out, _err;
    private readonly Stopwatch _clock;
    private readonly string _what;

    internal DedupProcess(Process p, string what)
    {
        _p = p;
        _what = what;
        _clock = Stopwatch.StartNew();
        _out = p.StandardOutput.ReadToEndAsync();
        _err = p.StandardError.ReadToEndAsync();
        p.StandardInput.Close();
    }

    public int Id => _p.Id;
    public bool HasExited => _p.HasExited;
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>SIGKILL, as a power cut or the OOM killer would: no handler runs, nothing is flushed.</summary>
    public void Kill()
    {
        try
        {
            _p.Kill();
        }
        catch (InvalidOperationException)
        {
            // It exited on its own just before: the caller sees a normal exit code.
        }
    }

    public async Task<CliResult> WaitAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await _p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"{_what} did not finish in {(timeout ?? TimeSpan.FromMinutes(3)).TotalSeconds} s");
        }
        var elapsed = _clock.Elapsed;
        return new CliResult(_p.ExitCode, await _out.ConfigureAwait(false), await _err.ConfigureAwait(false), elapsed);
    }

    public void Dispose()
    {
        if (!_p.HasExited) Kill();
        _p.Dispose();
    }
}

/// <summary>
/// Starts the built dedup.dll (copied next to the tests by the project reference) as a real process with a clean
/// environment: none of the caller's DEDUP_* or AWS_* variables leak in, the password comes from a file, and the
/// cache folder is the test's own.
/// </summary>
public sealed class DedupCli
{
    public static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "dedup.dll");

    /// <summary>Small packs make many packs (so kills land between them); cheap Argon2 keeps every command fast.</summary>
    public static readonly string[] InitOptions = ["--pack-size", "1", "--argon2-memory", "64", "--argon2-iterations", "1"];

    private static readonly string[] Scrubbed =
    [
        "DEDUP_PASSWORD", "DEDUP_PASSWORD_FILE", "DEDUP_REPOSITORY", "DEDUP_DEBUG", "DEDUP_FROM_PASSWORD", "DEDUP_FROM_PASSWORD_FILE",
        "DEDUP_S3_RETRIES", "DEDUP_CACHE_DIR", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
    ];

    public DedupCli(TempDir dir)
    {
        PasswordFile = dir.Combine("password");
        File.WriteAllText(PasswordFile, "correct horse battery staple\n");
        CacheDir = dir.Combine("cache");
    }

    public string PasswordFile { get; }
    public string CacheDir { get; }

    public DedupProcess Start(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? env = null)
    {
        Assert.True(File.Exists(Dll), $"dedup.dll not found next to the tests at {Dll}");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var name in Scrubbed) psi.Environment.Remove(name);
        psi.Environment["DEDUP_PASSWORD_FILE"] = PasswordFile;
        psi.Environment["DEDUP_CACHE_DIR"] = CacheDir;
        if (env is not null)
            foreach (var (k, v) in env)
                if (v is null) psi.Environment.Remove(k);
                else psi.Environment[k] = v;
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet");
        return new DedupProcess(p, "dedup " + string.Join(' ', args));
    }

    public async Task<CliResult> RunAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? env = null, TimeSpan? timeout = null)
    {
        using var p = Start(args, env);
        return await p.WaitAsync(timeout).ConfigureAwait(false);
    }
}
