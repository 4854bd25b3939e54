using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>Issue 3's fault: the server stops in the middle of a backup, then comes back.</summary>
[Collection("S3")]
public sealed class S3OutageTests : S3TestBase
{
    [Fact]
    public async Task ServerStoppedMidBackup_FailsCleanlyWithoutSnapshot_AndTheNextBackupReusesUploadedPacks()
    {
        var bucket = S3Env.Bucket;
        var (url, prefix) = NewRepo(bucket, "outage");
        var src = Cli.Dir.CreateDirectory("src");
        const int files = 20, fileSize = 10 << 20;
        for (int i = 0; i < files; i++) File.WriteAllBytes(Path.Combine(src, $"part{i:00}.bin"), RandomBytes(fileSize, 100 + i));
        Init(S3Env.Client, url);
        // A few quick retries, so the failure comes within seconds of the stop rather than after the full backoff.
        var fast = new Dictionary<string, string?> { ["DEDUP_S3_RETRIES"] = "3" };

        var backup = Task.Run(() => Run(S3Env.Client, url, ["backup", src, "--json"], fast));
        bool stopped = false;
        try
        {
            while (!backup.IsCompleted)
            {
                var packs = (await S3Env.ListAsync(bucket, prefix)).Count(o => o.Key.Contains("/data/", StringComparison.Ordinal));
                if (packs >= 3)
                {
                    S3Env.Server("stop");
                    stopped = true;
                    break;
                }
                await Task.Delay(200);
            }
            var failed = await backup;
            Assert.True(stopped, $"the backup finished before the server could be stopped: {failed}");
            AssertOneLineError(failed);
        }
        finally
        {
            S3Env.Server("start");
        }

        var afterFailure = await S3Env.ListAsync(bucket, prefix);
        Assert.DoesNotContain(afterFailure.Keys, k => k.Contains("/snapshots/", StringComparison.Ordinal));
        Assert.Equal("[]", Ok(S3Env.Client, url, ["snapshots", "--json"]).Stdout.Trim());

        var next = JsonOutput.Result(Ok(S3Env.Client, url, ["backup", src, "--json"]).Stdout);
        long total = (long)files * fileSize, added = next.GetProperty("bytes_added").GetInt64();
        Assert.True(added < total - (16 << 20), $"the second backup added {added} of {total} bytes: the packs uploaded before the outage were not reused "
            + $"(they were not indexed: {afterFailure.Count(o => o.Key.Contains("/index/", StringComparison.Ordinal))} index files after the failure)");
        Ok(S3Env.Client, url, ["check"]);
    }
}
