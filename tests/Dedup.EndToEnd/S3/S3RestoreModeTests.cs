using System.Globalization;
using Dedup.EndToEnd.Cli;
using Dedup.TestKit;
using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>
/// Restore fidelity and restore modes against the real S3 server, with the client credentials a backup host holds:
/// a sparse file comes back sparse, hard links as links and extended attributes as they were; then, on a disturbed
/// target, --dry-run changes nothing, --overwrite if-newer keeps what is newer, and --overwrite if-changed --delete
/// --verify make the target match the snapshot.
/// </summary>
[Collection("S3")]
public sealed class S3RestoreModeTests : S3TestBase
{
    [Fact]
    public void Sparse_files_hard_links_and_xattrs_round_trip_and_the_modes_work_on_s3()
    {
        var (url, _) = NewRepo(S3Env.Bucket, "restore-modes");
        var client = S3Env.Client;
        var src = Cli.Dir.CreateDirectory("src");
        RestoreModeCliTests.BuildSource(src);
        var sparse = Path.Combine(src, "disk.img");
        using (var f = File.Create(sparse))
        {
            f.SetLength(16 << 20);
            f.Position = 8 << 20;
            f.Write("data in the middle"u8);
        }
        Tool.Ok("ln", Path.Combine(src, "same.txt"), Path.Combine(src, "same-link.txt"));
        Tool.Ok("setfattr", "-n", "user.dedup-e2e", "-v", "kept", Path.Combine(src, "older.txt"));
        Init(client, url);
        Ok(client, url, ["backup", src]);

        var target = Cli.Dir.Combine("t");
        Ok(client, url, ["restore", "latest", "--target", target, "--verify"]);
        var restored = target + src;
        Assert.Equal(File.ReadAllBytes(sparse), File.ReadAllBytes(Path.Combine(restored, "disk.img")));
        long allocated = 512 * long.Parse(Tool.Ok("stat", "-c", "%b", Path.Combine(restored, "disk.img")).Trim(), CultureInfo.InvariantCulture);
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated");
        Assert.Equal(Tool.Ok("stat", "-c", "%i %h", Path.Combine(restored, "same.txt")), Tool.Ok("stat", "-c", "%i %h", Path.Combine(restored, "same-link.txt")));
        Assert.Equal("kept", Tool.Ok("getfattr", "--only-values", "-n", "user.dedup-e2e", Path.Combine(restored, "older.txt")));

        RestoreModeCliTests.Disturb(restored);
        var before = DataGen.Listing(target);
        var dry = JsonOutput.Result(Ok(client, url, ["restore", "latest", "--target", target, "--overwrite", "if-changed", "--delete", "--dry-run", "--json"]).Stdout);
        Assert.Equal(before, DataGen.Listing(target));
        Assert.Equal((2, 4), (dry.GetProperty("overwritten").GetInt64(), dry.GetProperty("deleted").GetInt64()));

        // if-newer: older.txt (dated before the snapshot) is replaced, changed.txt (newer) is kept; exit 0.
        var newer = JsonOutput.Result(Ok(client, url, ["restore", "latest", "--target", target, "--overwrite", "if-newer", "--json"]).Stdout);
        Assert.Equal(1, newer.GetProperty("overwritten").GetInt64());
        Assert.Equal("snapshot of older", File.ReadAllText(Path.Combine(restored, "older.txt")));
        Assert.Equal("local edit, newer", File.ReadAllText(Path.Combine(restored, "changed.txt")));

        var done = JsonOutput.Result(Ok(client, url, ["restore", "latest", "--target", target, "--overwrite", "if-changed", "--delete", "--verify", "--json"]).Stdout);
        // changed.txt is the one file left to write (and verify); extra.txt, sub/extra.log, sub/extra-dir and its x go.
        Assert.Equal((1, 4), (done.GetProperty("overwritten").GetInt64(), done.GetProperty("deleted").GetInt64()));
        Assert.Equal((1, 0), (done.GetProperty("verified").GetInt64(), done.GetProperty("verify_failures").GetArrayLength()));
        Assert.Equal(DataGen.Digest(src), DataGen.Digest(restored));
        Assert.Equal("kept", Tool.Ok("getfattr", "--only-values", "-n", "user.dedup-e2e", Path.Combine(restored, "older.txt")));
    }
}
