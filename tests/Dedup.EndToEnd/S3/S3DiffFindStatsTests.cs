using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>Issue 16: diff, find and stats against the real S3 server, with a backup host's client credentials.</summary>
[Collection("S3")]
public sealed class S3DiffFindStatsTests : S3TestBase
{
    private (string Url, string Root, string First, string Second) TwoSnapshots(string purpose) => TwoSnapshots(purpose, out _);

    private (string Url, string Root, string First, string Second) TwoSnapshots(string purpose, out string prefix)
    {
        (var url, prefix) = NewRepo(S3Env.Bucket, purpose);
        var root = DiffFindStatsTests.BuildBefore(Cli.Dir.Combine("src"));
        Init(S3Env.Client, url);
        string Backup() => JsonOutput.Result(Ok(S3Env.Client, url, ["backup", root, "--host", "h1", "--json"]).Stdout).GetProperty("snapshot_id").GetString()!;
        var first = Backup();
        DiffFindStatsTests.ChangeToAfter(root);
        return (url, root, first, Backup());
    }

    [Fact]
    public void Diff_OnS3_ListsTheSameChangesAsLocally()
    {
        var (url, root, first, second) = TwoSnapshots("diff");
        var text = Ok(S3Env.Client, url, ["diff", first[..8], "latest"]).Stdout;
        Assert.Equal(DiffFindStatsTests.ExpectedDiff.Select(l => string.Format(l, root)), DiffFindStatsTests.LinesUnder(text, root));
        var json = Ok(S3Env.Client, url, ["diff", first, second, "--json"], DiffFindStatsTests.ManyStatuses).Stdout;
        var summary = JsonOutput.Result(json);
        Assert.Equal((24, 39), (summary.GetProperty("bytes_added").GetInt64(), summary.GetProperty("bytes_removed").GetInt64()));
        var (statuses, rest) = DiffFindStatsTests.SplitStatuses(json, "directories_read", "changes");
        Assert.Equal((summary.GetProperty("directories_read").GetInt64(), rest.Count - 1),
            (statuses[^1].GetProperty("directories_read").GetInt64(), statuses[^1].GetProperty("changes").GetInt64()));
    }

    [Fact]
    public void Find_OnS3_NamesTheSnapshotsThatHoldEachMatch()
    {
        var (url, root, first, second) = TwoSnapshots("find");
        var (statuses, lines) = DiffFindStatsTests.SplitStatuses(Ok(S3Env.Client, url, ["find", "*name*", "--json"], DiffFindStatsTests.ManyStatuses).Stdout,
            "snapshots_done", "directories_read", "matches");
        Assert.Equal((2, 2, 2), (statuses[^1].GetProperty("snapshots_done").GetInt64(), statuses[^1].GetProperty("snapshots_total").GetInt64(),
            statuses[^1].GetProperty("matches").GetInt64()));
        Assert.Equal([(root + "/new name.txt", second), (root + "/old name.txt", first)],
            lines.Select(e => (e.GetProperty("path").GetString()!, string.Join(",", e.GetProperty("snapshots").EnumerateArray().Select(s => s.GetString())))));
        var keep = JsonOutput.Result(Ok(S3Env.Client, url, ["find", "keep.txt", "--json"]).Stdout);
        Assert.Equal((2, first, second), (keep.GetProperty("count").GetInt32(), keep.GetProperty("first_snapshot").GetString(), keep.GetProperty("last_snapshot").GetString()));
    }

    [Fact]
    public async Task Stats_OnS3_CountsThePacksTheBucketHolds()
    {
        var (url, _, first, second) = TwoSnapshots("stats", out var prefix);
        var (statuses, rest) = DiffFindStatsTests.SplitStatuses(Ok(S3Env.Client, url, ["stats", "--json"]).Stdout, "snapshots_done", "packs_listed");
        var r = Assert.Single(rest);
        Assert.Equal(2, r.GetProperty("snapshot_count").GetInt32());
        var packs = await S3Env.ListAsync(S3Env.Bucket, prefix + "/data");
        Assert.Equal(packs.Count, r.GetProperty("packs").GetInt64());
        Assert.Equal((2, packs.Count), (statuses[^1].GetProperty("snapshots_done").GetInt64(), statuses[^1].GetProperty("packs_listed").GetInt64()));
        Assert.Equal(S3Env.Bytes(packs), r.GetProperty("stored_bytes").GetInt64());
        var snaps = r.GetProperty("snapshots").EnumerateArray().ToDictionary(s => s.GetProperty("id").GetString()!);
        // Before: 4+2+15+6+11+12+7 bytes of files, and 4 ("deep") in same-dir; after: see the diff.
        Assert.Equal((4 + 2 + 15 + 6 + 11 + 12 + 7 + 4, 4 + 9 + 15 + 6 + 12 + 3 + 4),
            (snaps[first].GetProperty("restore_bytes").GetInt64(), snaps[second].GetProperty("restore_bytes").GetInt64()));
    }
}
