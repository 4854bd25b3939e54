using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd;

/// <summary>
/// Issue 14, done-when 2, as a new user would do it with the CLI, on any backend: back up a tree with a large file, remove
/// the file, forget the snapshots that held it, prune (which marks), prune again past the grace period (which deletes),
/// and get back all of the file but the --max-unused budget. Bytes are measured in the store, before and after, and
/// against a fresh repository holding only what is left. Along the way, --dry-run shows the plan and changes nothing.
/// </summary>
public sealed class PruneReclaim(Func<string[], CliResult> ok, Func<Task<string>> storeState, Func<Task<long>> dataBytes)
{
    public const int LargeFile = 12 << 20;

    /// <summary>Runs the story in <paramref name="src"/>; returns the data bytes stored after the final prune.</summary>
    public async Task<long> RunAsync(string src)
    {
        TreeFixture.Build(src, seed: 51);
        var large = Path.Combine(src, "large.bin");
        var bytes = new byte[LargeFile];
        new Random(52).NextBytes(bytes);
        File.WriteAllBytes(large, bytes);
        ok(["backup", src]);
        File.AppendAllText(Path.Combine(src, "changed.txt"), "a change between backups");
        ok(["backup", src]);
        File.Delete(large);
        ok(["backup", src]);
        var forget = JsonDocument.Parse(ok(["forget", "--keep-last", "1", "--json"]).Stdout).RootElement;
        Assert.Equal(2, forget.GetProperty("removed").GetInt32());
        long before = await dataBytes();

        // The plan, whole, and nothing changed.
        var state = await storeState();
        var dry = JsonOutput.Result(ok(["prune", "--dry-run", "--json"]).Stdout);
        var plan = dry.GetProperty("plan");
        var packs = plan.GetProperty("packs").EnumerateArray().ToList();
        Assert.Contains(packs, p => p.GetProperty("action").GetString() is "mark" or "repack");
        Assert.All(packs, p => Assert.False(string.IsNullOrEmpty(p.GetProperty("reason").GetString())));
        Assert.True(plan.GetProperty("bytes_unused").GetInt64() >= LargeFile * 9L / 10, plan.ToString());
        Assert.Equal("5%", plan.GetProperty("max_unused").GetString());
        var table = ok(["prune", "--dry-run"]).Stdout;
        Assert.Contains("action", table);
        Assert.Contains("reason", table);
        Assert.Contains("to download", table);
        Assert.Equal(state, await storeState());

        // First prune: marks (and repacks), deletes nothing.
        var marking = JsonOutput.Result(ok(["prune", "--json"]).Stdout);
        Assert.True(marking.GetProperty("packs_marked").GetInt32() > 0, marking.ToString());
        Assert.Equal(0, marking.GetProperty("packs_deleted").GetInt32());
        Assert.True(await dataBytes() >= before, "the first prune deleted packs before the grace period");

        // Past the grace period: the marks' packs go. (The grace period is judged by storage times, which a test cannot
        // move; --grace 0 makes every mark old enough, as when 48 h have passed with no backup running.)
        var deleting = JsonOutput.Result(ok(["prune", "--grace", "0", "--json"]).Stdout);
        var deletePlan = deleting.GetProperty("plan");
        Assert.Equal(deletePlan.GetProperty("bytes_to_delete").GetInt64(), deleting.GetProperty("bytes_freed").GetInt64());
        Assert.True(deletePlan.GetProperty("packs").EnumerateArray().Any(p => p.GetProperty("action").GetString() == "delete"), deletePlan.ToString());
        long after = await dataBytes();
        Assert.True(before - after >= LargeFile * 95L / 100, $"{before} bytes of packs before, {after} after: the large file was not reclaimed");
        return after;
    }
}
