using System.Text.Json;
using Amazon.S3.Model;
using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>
/// Selection by time and check --read-data-subset on the real S3 server. Storage times are the server's LastModified,
/// which the test cannot set: it backs up in sequence, reads the times from 'snapshots --json' and selects at them.
/// </summary>
[Collection("S3")]
public sealed class S3SelectionTests : S3TestBase
{
    [Fact]
    public void A_time_selects_the_newest_snapshot_the_server_stored_at_or_before_it()
    {
        var (url, _) = NewRepo(S3Env.Bucket, "by-time");
        var src = Cli.Dir.CreateDirectory("src");
        var file = Path.Combine(src, "f.txt");
        Init(S3Env.Client, url);
        var contents = new Dictionary<string, string>();
        for (int i = 0; i < 3; i++)
        {
            File.WriteAllText(file, $"version {i}");
            var id = JsonOutput.Result(Ok(S3Env.Client, url, ["backup", src, "--json"]).Stdout).GetProperty("snapshot_id").GetString()!;
            contents[id] = $"version {i}";
        }
        var stored = JsonDocument.Parse(Ok(S3Env.Client, url, ["snapshots", "--json"]).Stdout).RootElement.EnumerateArray()
            .Select(s => (Id: s.GetProperty("id").GetString()!, At: DateTimeOffset.Parse(s.GetProperty("stored_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        Assert.Equal(3, stored.Count);
        Assert.True(stored.Select(s => s.At).Distinct().Count() >= 2, "three backups in a row got one storage time");

        foreach (var (_, at) in stored)
        {
            // At a snapshot's own storage time, the newest at or before it (by ID on a tie, as the rule says).
            var expected = stored.Where(s => s.At <= at).MaxBy(s => (s.At, s.Id)).Id;
            var moment = at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(contents[expected], Ok(S3Env.Client, url, ["dump", moment, file]).Stdout);
            var listed = JsonDocument.Parse(Ok(S3Env.Client, url, ["snapshots", "--json", "--older", moment]).Stdout).RootElement.GetArrayLength();
            Assert.Equal(stored.Count(s => s.At <= at), listed);
        }
        var first = stored.Min(s => s.At).AddSeconds(-1).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture);
        AssertOneLineError(Run(S3Env.Client, url, ["dump", first, file]), "no trusted snapshot stored at or before");
        // An age reaching back past the server's first time finds nothing either; one of now finds the newest.
        Assert.Equal(contents[stored.MaxBy(s => (s.At, s.Id)).Id], Ok(S3Env.Client, url, ["dump", "0s", file]).Stdout);
        AssertOneLineError(Run(S3Env.Client, url, ["dump", "1Y", file]), "no trusted snapshot stored at or before");
    }

    [Fact]
    public async Task Read_data_subset_runs_cover_every_pack_once_and_the_run_holding_damage_finds_it()
    {
        var bucket = S3Env.Bucket;
        var (url, prefix) = NewRepo(bucket, "subset");
        var src = Cli.Dir.CreateDirectory("src");
        Init(S3Env.Client, url);
        for (int i = 0; i < 4; i++)
        {
            File.WriteAllBytes(Path.Combine(src, $"d{i}.bin"), RandomBytes(200_000, 500 + i));
            Ok(S3Env.Client, url, ["backup", src]);
        }
        var packs = (await S3Env.ListAsync(bucket, prefix)).Where(o => o.Key.Contains("/data/", StringComparison.Ordinal)).ToList();
        Assert.True(packs.Count >= 4, $"{packs.Count} packs");

        long sum = 0;
        for (int n = 1; n <= 2; n++)
        {
            var report = JsonOutput.Result(Ok(S3Env.Client, url, ["check", "--read-data-subset", $"{n}/2", "--json"]).Stdout);
            Assert.Equal(packs.Count, report.GetProperty("packs_checked").GetInt64());
            sum += report.GetProperty("packs_read").GetInt64();
        }
        Assert.Equal(packs.Count, sum);

        // One byte of the largest pack's first blob, put back by a credential that can overwrite.
        var pack = packs.MaxBy(o => o.Value.Size);
        using (var admin = S3Env.Sdk(S3Env.Admin))
        {
            using var get = await admin.GetObjectAsync(bucket, pack.Key);
            using var copy = new MemoryStream();
            await get.ResponseStream.CopyToAsync(copy);
            var bytes = copy.ToArray();
            bytes[10] ^= 0x40;
            using var body = new MemoryStream(bytes);
            await admin.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = pack.Key, InputStream = body });
        }
        Ok(S3Env.Client, url, ["check"]);
        var finders = new List<int>();
        for (int n = 1; n <= 2; n++)
        {
            var r = Run(S3Env.Client, url, ["check", "--read-data-subset", $"{n}/2"]);
            Assert.True(r.ExitCode is 0 or 12, r.ToString());
            if (r.ExitCode == 12)
            {
                Assert.Contains(pack.Key[(pack.Key.LastIndexOf('/') + 1)..], r.Stdout);
                finders.Add(n);
            }
        }
        Assert.Single(finders);
    }
}
