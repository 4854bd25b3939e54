using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>prune's plan and budget against the real S3 server, with the admin's credentials.</summary>
[Collection("S3")]
public sealed class S3PruneTests : S3TestBase
{
    [Fact]
    public async Task RemovingALargeFile_ForgettingItsSnapshots_AndPruningPastTheGracePeriod_GivesBackAllButTheBudget()
    {
        var (url, prefix) = NewRepo(S3Env.Bucket, "pruneplan");
        Init(S3Env.Admin, url);
        async Task<long> DataBytes(string p) =>
            (await S3Env.ListAsync(S3Env.Bucket, p)).Where(o => o.Key.Contains("/data/", StringComparison.Ordinal)).Sum(o => o.Value.Size);
        // Names, sizes and ETags: a dry run that wrote, deleted or replaced anything would change them.
        async Task<string> State() => string.Join("\n", (await S3Env.ListAsync(S3Env.Bucket, prefix)).Select(o => $"{o.Key} {o.Value.Size} {o.Value.ETag}"));

        var src = Cli.Dir.Combine("src");
        var story = new PruneReclaim(args => Ok(S3Env.Admin, url, args), State, () => DataBytes(prefix));
        long after = await story.RunAsync(src);

        var (freshUrl, freshPrefix) = NewRepo(S3Env.Bucket, "pruneplan-fresh");
        Init(S3Env.Admin, freshUrl);
        Ok(S3Env.Admin, freshUrl, ["backup", src]);
        long needed = await DataBytes(freshPrefix);
        Assert.True(after <= needed * 100 / 95 + (16 << 10), $"{after} bytes of packs left where {needed} hold the tree: more than the budget stayed");

        var target = Cli.Dir.Combine("restored");
        Ok(S3Env.Admin, url, ["restore", "latest", "--target", target]);
        TreeFixture.AssertSame(src, Path.Join(target, Path.GetFullPath(src)));
        Ok(S3Env.Admin, url, ["check", "--read-data"]);
    }
}
