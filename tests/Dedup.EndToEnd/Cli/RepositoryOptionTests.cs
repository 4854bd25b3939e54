using System.Diagnostics;
using System.Text.Json;
using Dedup.TestKit;
using Xunit;

namespace Dedup.EndToEnd.Cli;

/// <summary>
/// The trust-model and engine settings every verb shares, through the real CLI: which key opens (--key, DEDUP_KEY, a
/// profile's key, the remembered hint, not written with --no-cache), the KDF ceiling, bandwidth limits, and the verbs
/// around keys and domains (key add --group, key list, cat index, policy --key-id), forget's short flags and doctor on
/// a local folder.
/// </summary>
public sealed class RepositoryOptionTests : IDisposable
{
    private readonly DedupCli _cli = new();

    private List<JsonElement> Keys(params string[] extra) =>
        JsonDocument.Parse(_cli.Ok(["key", "list", "--json", .. extra]).Stdout).RootElement.EnumerateArray().ToList();

    private string Current(Dictionary<string, string?>? env = null, params string[] extra)
    {
        var r = _cli.Run(["-r", _cli.Repo, "key", "list", "--json", .. extra], env);
        Assert.True(r.ExitCode == 0, r.ToString());
        return JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().Single(k => k.GetProperty("current").GetBoolean()).GetProperty("id").GetString()!;
    }

    [Fact]
    public void TheKeyToTryFirst_ComesFromOption_Environment_Profile_OrWhatThisMachineRemembers()
    {
        _cli.Init();
        // A second key with the same password: which of the two opens shows which was tried first.
        _cli.Ok(["key", "add", "--new-password-file", _cli.PasswordFile, .. DedupCli.FastKdf]);
        var ids = Keys().Select(k => k.GetProperty("id").GetString()!).ToList();
        Assert.Equal(2, ids.Count);
        foreach (var id in ids)
        {
            Assert.Equal(id, Current(null, "--key", id));
            Assert.Equal(id, Current(new() { ["DEDUP_KEY"] = id }));
            var config = _cli.Dir.Combine("config.toml");
            File.WriteAllText(config, $"[profiles.p]\nrepository = \"{_cli.Repo}\"\nkey = \"{id.ToUpperInvariant()}\"\n");
            Assert.Equal(id, Current(new() { ["DEDUP_CONFIG"] = config }, "-p", "p"));
            // Without any: the key this machine opened last, remembered under the cache folder.
            Assert.Equal(id, Current());
        }
        var hints = Directory.GetFiles(_cli.Dir.Combine("cache", "key-hints"));
        Assert.Equal(ids[1], File.ReadAllText(Assert.Single(hints)));

        // --no-cache writes nothing to the cache, not even the hint.
        var src = _cli.Dir.CreateDirectory("src");
        File.WriteAllText(Path.Combine(src, "f"), "x");
        _cli.Ok("backup", src, "--no-cache", "--key", ids[0]);
        Assert.Equal(ids[1], File.ReadAllText(Assert.Single(hints)));
        Assert.Equal(ids[1], Current());

        var bad = _cli.Run(["-r", _cli.Repo, "snapshots", "--key", "abc"]);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--key takes a key file's full 64-digit ID", Assert.Single(bad.StderrLines));
    }

    [Fact]
    public void KdfCeiling_RefusesAKeyAboveIt_AndABadValueIsAUsageError()
    {
        _cli.Init();
        var low = _cli.Run(["-r", _cli.Repo, "snapshots"], new() { ["DEDUP_KDF_CEILING"] = "1:1:1" });
        Assert.Equal(1, low.ExitCode);
        Assert.Contains("above this machine's ceiling of 1 MiB, 1 passes, 1 lanes", Assert.Single(low.StderrLines));
        Assert.Equal(0, _cli.Run(["-r", _cli.Repo, "snapshots"], new() { ["DEDUP_KDF_CEILING"] = "64:4:4" }).ExitCode);
        var bad = _cli.Run(["-r", _cli.Repo, "snapshots"], new() { ["DEDUP_KDF_CEILING"] = "lots" });
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("DEDUP_KDF_CEILING takes MiB:passes:lanes", Assert.Single(bad.StderrLines));
    }

    [Fact]
    public void BandwidthLimits_HoldABackupAndARestoreToTheirRate()
    {
        const int Size = 2 << 20;
        const long Rate = 1024; // KiB/s
        var src = _cli.Dir.CreateDirectory("src");
        File.WriteAllBytes(Path.Combine(src, "random.bin"), DataGen.RandomBytes(7, Size));
        _cli.Init();
        var backup = JsonOutput.Result(_cli.Ok("backup", src, "--limit-upload", Rate.ToString(), "--json").Stdout);
        // The limiter lets one burst (64 KiB at this rate) through at once; everything else waits for its share.
        double bound = (backup.GetProperty("bytes_added_stored").GetInt64() - 64 * 1024) / (Rate * 1024.0);
        Assert.True(backup.GetProperty("duration_seconds").GetDouble() >= bound * 0.98,
            $"{backup.GetProperty("bytes_added_stored").GetInt64()} bytes stored in {backup.GetProperty("duration_seconds").GetDouble():0.00} s at {Rate} KiB/s");

        var clock = Stopwatch.StartNew();
        _cli.Ok("restore", "latest", "--target", _cli.Dir.Combine("out"), "--limit-download", Rate.ToString());
        var elapsed = clock.Elapsed.TotalSeconds;
        Assert.True(elapsed >= (Size - 64 * 1024) / (Rate * 1024.0) * 0.98, $"{Size} bytes restored in {elapsed:0.00} s at {Rate} KiB/s");
        Assert.Equal(File.ReadAllBytes(Path.Combine(src, "random.bin")), File.ReadAllBytes(_cli.Dir.Combine("out") + Path.Combine(src, "random.bin")));

        var zero = _cli.Run(["-r", _cli.Repo, "snapshots", "--limit-upload", "0"]);
        Assert.Equal(2, zero.ExitCode);
        Assert.Contains("--limit-upload takes a rate in KiB/s", Assert.Single(zero.StderrLines));
    }

    [Fact]
    public void KeyAddGroup_SharesADomain_KeyListShowsIt_AndOnlyWriteOnlyKeysTakeIt()
    {
        _cli.Init();
        var pass = _cli.Dir.Combine("host.pass");
        File.WriteAllText(pass, "host password");
        string Add(params string[] more) => JsonDocument.Parse(_cli.Ok(["key", "add", "--write-only", "--new-password-file", pass, "--json", .. more, .. DedupCli.FastKdf]).Stdout)
            .RootElement.GetProperty("id").GetString()!;
        var web1 = Add("--host", "web1", "--group", "web");
        var web2 = Add("--host", "web2", "--group", "web");
        var db = Add("--host", "db");
        var domains = Keys().ToDictionary(k => k.GetProperty("id").GetString()!, k => k.GetProperty("domain").GetString()!);
        Assert.Equal(domains[web1], domains[web2]);
        Assert.NotEqual(domains[web1], domains[db]);
        Assert.Equal(new string('0', 32), domains.Single(d => d.Key != web1 && d.Key != web2 && d.Key != db).Value);
        Assert.Contains("Dedup domain", _cli.Ok("key", "list").Stdout);

        var full = _cli.Run(["-r", _cli.Repo, "key", "add", "--group", "web", "--new-password-file", pass, .. DedupCli.FastKdf]);
        Assert.Equal(2, full.ExitCode);
        Assert.Contains("--group is for write-only keys", Assert.Single(full.StderrLines));
        Assert.Equal(4, Keys().Count);
    }

    [Fact]
    public void CatIndex_NamesDomainSigner_AndEachPacksOrigin()
    {
        var src = _cli.Dir.CreateDirectory("src");
        File.WriteAllText(Path.Combine(src, "f"), "content");
        _cli.Init();
        _cli.Ok("backup", src);
        var index = Path.GetFileName(Assert.Single(Directory.GetFiles(Path.Combine(_cli.Repo, "index"), "*", SearchOption.AllDirectories)));
        var json = JsonDocument.Parse(_cli.Ok("cat", "index", index[..10]).Stdout).RootElement;
        Assert.Equal(new string('0', 32), json.GetProperty("domain").GetString());
        Assert.Equal("repository", json.GetProperty("signer").GetString());
        Assert.True(json.GetProperty("trusted").GetBoolean());
        var packs = json.GetProperty("packs").EnumerateArray().ToList();
        Assert.NotEmpty(packs);
        Assert.All(packs, p => Assert.Equal("full-key", p.GetProperty("origin").GetString()));
        var blob = packs[0].GetProperty("blobs")[0].GetProperty("id").GetString()!;
        Assert.Equal(0, _cli.Run(["-r", _cli.Repo, "cat", "blob", blob]).ExitCode);
    }

    [Fact]
    public void PolicyKeyId_GoesOnlyWithTheWriteOnlyRole_AndTakesFullIds()
    {
        var client = _cli.Run(["policy", "--bucket", "b", "--role", "client", "--key-id", new string('a', 64)], withPassword: false);
        Assert.Equal(2, client.ExitCode);
        Assert.Contains("--key-id only goes with --role write-only", Assert.Single(client.StderrLines));
        var shortId = _cli.Run(["policy", "--bucket", "b", "--role", "write-only", "--key-id", "abcd"], withPassword: false);
        Assert.Equal(2, shortId.ExitCode);
        Assert.Contains("--key-id takes the host's key file ID", Assert.Single(shortId.StderrLines));
    }

    [Fact]
    public void Forget_TakesResticsShortKeepFlags()
    {
        var src = _cli.Dir.CreateDirectory("src");
        _cli.Init();
        for (int i = 0; i < 3; i++)
        {
            File.WriteAllText(Path.Combine(src, "f"), $"version {i}");
            _cli.Ok("backup", src);
        }
        var dry = JsonDocument.Parse(_cli.Ok("forget", "-l", "1", "-n", "--json").Stdout).RootElement;
        Assert.Equal(2, dry.GetProperty("groups")[0].GetProperty("snapshots").EnumerateArray().Count(s => !s.GetProperty("keep").GetBoolean()));
        _cli.Ok("forget", "-l", "2");
        Assert.Equal(2, JsonDocument.Parse(_cli.Ok("snapshots", "--json").Stdout).RootElement.GetArrayLength());
    }

    [Fact]
    public void Doctor_OnALocalFolder_SaysItCanDoEverything_AndInitPrintsTheSameTable()
    {
        var init = _cli.Init();
        Assert.Equal(0, init.ExitCode);
        Assert.Contains("these credentials keep to the admin role", init.Stdout);
        Assert.Matches(@"(?m)^  delete +allowed ", init.Stdout);

        var asClient = _cli.Run(["-r", _cli.Repo, "doctor", "--expect", "client"], withPassword: false);
        Assert.Equal(5, asClient.ExitCode);
        Assert.Matches(@"(?m)^  delete +allowed .*TOO MUCH: client must not delete$", asClient.Stdout);
        Assert.Contains("these credentials can do more than client allows: delete", asClient.Stdout);

        var json = JsonDocument.Parse(_cli.Run(["-r", _cli.Repo, "doctor", "--expect", "admin", "--json"], withPassword: false).Stdout).RootElement;
        Assert.Equal(("allowed", "allowed", "allowed", "denied", "allowed"),
            (json.GetProperty("put").GetString(), json.GetProperty("list").GetString(), json.GetProperty("read").GetString(),
                json.GetProperty("overwrite").GetString(), json.GetProperty("delete").GetString()));
        Assert.Equal("admin", json.GetProperty("fits").GetString());
        Assert.Empty(json.GetProperty("exceeds").EnumerateArray());
        // The canary was deleted again: these credentials can.
        var inflight = Path.Combine(_cli.Repo, "inflight");
        Assert.True(!Directory.Exists(inflight) || Directory.GetFiles(inflight, "*", SearchOption.AllDirectories).Length == 0);
    }

    public void Dispose() => _cli.Dispose();
}
