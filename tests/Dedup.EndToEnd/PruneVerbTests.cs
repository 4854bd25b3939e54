using System.Security.Cryptography;
using Xunit;

namespace Dedup.EndToEnd;

/// <summary>prune's plan and budget through the CLI, on a local folder.</summary>
public sealed class PruneVerbTests : IDisposable
{
    private readonly DedupCli _cli = new();

    private long DataBytes(string repo) =>
        Directory.EnumerateFiles(Path.Join(repo, "data"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    /// <summary>Every file's path, size and bytes: what "changes nothing" means.</summary>
    private string State() => string.Join("\n", Directory.EnumerateFiles(_cli.Repo, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
        .Select(f => $"{Path.GetRelativePath(_cli.Repo, f)} {new FileInfo(f).Length} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))}"));

    [Fact]
    public async Task RemovingALargeFile_ForgettingItsSnapshots_AndPruningPastTheGracePeriod_GivesBackAllButTheBudget()
    {
        _cli.Init();
        var src = _cli.Dir.Combine("src");
        var story = new PruneReclaim(args => _cli.Ok(args), () => Task.FromResult(State()), () => Task.FromResult(DataBytes(_cli.Repo)));
        long after = await story.RunAsync(src);

        // What is left against a repository that only ever held the tree as it is now: within the 5 % budget (of the
        // whole, as restic counts it), plus a little for pack headers of more, smaller packs.
        var fresh = _cli.Dir.Combine("fresh");
        Assert.Equal(0, _cli.Run(["-r", fresh, "init", .. DedupCli.FastKdf]).ExitCode);
        Assert.Equal(0, _cli.Run(["-r", fresh, "backup", src]).ExitCode);
        long needed = DataBytes(fresh);
        Assert.True(after <= needed * 100 / 95 + (16 << 10), $"{after} bytes of packs left where {needed} hold the tree: more than the budget stayed");

        var target = _cli.Dir.Combine("restored");
        _cli.Ok("restore", "latest", "--target", target);
        TreeFixture.AssertSame(src, Path.Join(target, Path.GetFullPath(src)));
        _cli.Ok("check", "--read-data");
    }

    public void Dispose() => _cli.Dispose();
}
