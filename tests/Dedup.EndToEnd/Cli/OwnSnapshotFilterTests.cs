using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd.Cli;

/// <summary>
/// 'snapshots' filters on the hosts that cannot read the repository: a write-only key lists the signed headers of its own
/// snapshots (host and times only), a put-only host its local record (host, paths, tags, time).
/// </summary>
public sealed class OwnSnapshotFilterTests : IDisposable
{
    private readonly DedupCli _cli = new();

    [Fact]
    public void A_write_only_key_filters_by_host_time_and_latest_and_refuses_paths_and_tags_in_one_line()
    {
        Assert.True(_cli.Init().ExitCode == 0);
        AddWriteOnlyKey("web1");
        var src = Tree("a");
        var first = Backup("web1", src);
        var second = Backup("web1", src, "--tag", "nightly");

        Assert.Equal([first, second], Ids(Host("web1", "snapshots", "--json")));
        Assert.Equal([second], Ids(Host("web1", "snapshots", "--json", "--latest", "1")));
        Assert.Empty(Ids(Host("web1", "snapshots", "--json", "--host", "db1")));
        Assert.Equal([first, second], Ids(Host("web1", "snapshots", "--json", "--host", "web1", "--newer", "1h")));
        Assert.Empty(Ids(Host("web1", "snapshots", "--json", "--older", "1h")));

        var refused = Run("web1", "snapshots", "--tag", "nightly");
        Assert.Equal(2, refused.ExitCode);
        Assert.Equal("dedup: a write-only key cannot read the paths or tags of snapshots; filter by --host, --older, --newer or --latest",
            Assert.Single(refused.StderrLines));
    }

    [Fact]
    public void A_put_only_host_filters_its_local_record_by_tag_path_time_and_latest()
    {
        Assert.True(_cli.Init().ExitCode == 0);
        AddWriteOnlyKey("web1", enroll: true);
        var a = Tree("a");
        var b = Tree("b");
        var first = Backup("web1", a, "--tag", "nightly");
        var second = Backup("web1", b);
        var third = Backup("web1", a);

        Assert.Equal([first, second, third], Ids(Host("web1", "snapshots", "--json")));
        Assert.Equal([first], Ids(Host("web1", "snapshots", "--json", "--tag", "nightly")));
        Assert.Equal([second], Ids(Host("web1", "snapshots", "--json", "--path", b)));
        Assert.Equal([second, third], Ids(Host("web1", "snapshots", "--json", "--latest", "1")));
        Assert.Empty(Ids(Host("web1", "snapshots", "--json", "--host", "db1")));
        Assert.Empty(Ids(Host("web1", "snapshots", "--json", "--older", "1h")));
    }

    private string Tree(string name)
    {
        var dir = _cli.Dir.CreateDirectory("src-" + name);
        File.WriteAllText(Path.Join(dir, "f.txt"), $"content of {name}\n");
        return dir;
    }

    private void AddWriteOnlyKey(string host, bool enroll = false)
    {
        var pass = _cli.Dir.Combine(host + ".pass");
        File.WriteAllText(pass, host + " password\n");
        if (!enroll)
        {
            _cli.Ok(["key", "add", "--write-only", "--host", host, "--new-password-file", pass, .. DedupCli.FastKdf]);
            return;
        }
        var enrolment = _cli.Dir.Combine(host + ".enrol");
        _cli.Ok(["key", "add", "--write-only", "--host", host, "--new-password-file", pass, "--enroll", enrolment, .. DedupCli.FastKdf]);
        Host(host, "enroll", enrolment);
    }

    private string Backup(string host, string src, params string[] more) =>
        JsonDocument.Parse(Host(host, ["backup", src, "--json", .. more]).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1])
            .RootElement.GetProperty("snapshot_id").GetString()!;

    private CliResult Run(string host, params string[] args) => _cli.Run(["-r", _cli.Repo, .. args], new Dictionary<string, string?>
    {
        ["DEDUP_PASSWORD_FILE"] = _cli.Dir.Combine(host + ".pass"),
        ["DEDUP_STATE_DIR"] = _cli.Dir.Combine(host + "-state"),
        ["DEDUP_CACHE_DIR"] = _cli.Dir.Combine(host + "-cache"),
    });

    private CliResult Host(string host, params string[] args)
    {
        var r = Run(host, args);
        Assert.True(r.ExitCode == 0, $"{host}: dedup {string.Join(' ', args)} failed: {r}");
        return r;
    }

    private static List<string> Ids(CliResult r) =>
        JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToList();


    public void Dispose() => _cli.Dispose();
}
