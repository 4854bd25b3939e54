using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>
/// The S3 end-to-end classes share one collection, so they run one after another: one of them stops the server.
/// </summary>
[CollectionDefinition("S3", DisableParallelization = true)]
public sealed class S3Collection;

public abstract class S3TestBase : IDisposable
{
    private readonly List<(string Bucket, string Prefix)> _used = [];

    protected DedupCli Cli { get; } = new();

    /// <summary>A repository URL under a fresh prefix, removed (as admin) when the test ends.</summary>
    protected (string Url, string Prefix) NewRepo(string bucket, string purpose)
    {
        var fresh = S3Env.Fresh(bucket, purpose);
        _used.Add((bucket, fresh.Prefix));
        return fresh;
    }

    protected CliResult Run(S3Credentials who, string url, string[] args, Dictionary<string, string?>? env = null) =>
        Cli.Run(["-r", url, .. args], who.Env(env));

    protected CliResult Ok(S3Credentials who, string url, string[] args, Dictionary<string, string?>? env = null)
    {
        var r = Run(who, url, args, env);
        Assert.True(r.ExitCode == 0, $"dedup {string.Join(' ', args)} failed: {r}");
        return r;
    }

    protected CliResult Init(S3Credentials who, string url) => Ok(who, url, ["init", .. DedupCli.FastKdf]);

    /// <summary>A refusal or failure: non-zero, exactly one "dedup: " line on stderr, no stack trace.</summary>
    protected static void AssertOneLineError(CliResult r, params string[] contains)
    {
        Assert.True(r.ExitCode != 0, $"expected a failure: {r}");
        var line = Assert.Single(r.StderrLines);
        Assert.StartsWith("dedup: ", line);
        Assert.DoesNotContain("   at ", r.Stderr);
        foreach (var c in contains) Assert.True(line.Contains(c, StringComparison.OrdinalIgnoreCase), $"'{c}' not in: {line}");
    }

    protected static byte[] RandomBytes(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }

    public virtual void Dispose()
    {
        foreach (var (bucket, prefix) in _used) S3Env.CleanUpAsync(bucket, prefix).GetAwaiter().GetResult();
        Cli.Dispose();
        GC.SuppressFinalize(this);
    }
}
