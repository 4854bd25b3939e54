using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Index;
using Dedup.Storage;
using Xunit;
using Repo = Dedup.Repository.Repository;

namespace Dedup.EndToEnd.Cli;

/// <summary>
/// What the trust model leaves out, as the admin sees it through the CLI: a forgotten snapshot stored again (a replay by a
/// host or store that kept a copy) is named by check and removed again by forget, and index claims that put another
/// host's pack in an attacker's dedup domain are counted by prune as ignored. The library tests (tests/Dedup.Tests/
/// Adversarial) show what each does to the data; these show that the CLI says it, in text and JSON.
/// </summary>
public sealed class TrustReportTests : IDisposable
{
    private readonly DedupCli _cli = new();
    private readonly string _src;

    public TrustReportTests()
    {
        _src = _cli.Dir.CreateDirectory("src");
        _cli.Init();
    }

    private string Backup(string content, params string[] extra)
    {
        File.WriteAllText(Path.Combine(_src, "f.txt"), content);
        return JsonOutput.Result(_cli.Ok(["backup", _src, "--json", .. extra]).Stdout).GetProperty("snapshot_id").GetString()!;
    }

    private string SnapshotFile(string id) => Path.Combine(_cli.Repo, "snapshots", id);

    private List<string> Packs() =>
        Directory.GetFiles(Path.Combine(_cli.Repo, "data"), "*", SearchOption.AllDirectories).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToList();

    private List<string> Listed() =>
        JsonDocument.Parse(_cli.Ok("snapshots", "--json").Stdout).RootElement.EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToList();

    [Fact]
    public void AReplayedSnapshot_IsNamedByCheck_AndForgetRemovesItAgain_SayingSo()
    {
        var old = Backup("old");
        var current = Backup("current");
        var copy = File.ReadAllBytes(SnapshotFile(old)); // what a host or store that kept a copy holds
        _cli.Ok("forget", old);
        Assert.False(File.Exists(SnapshotFile(old)));
        Assert.Equal(0, _cli.Run(["-r", _cli.Repo, "check"]).ExitCode);

        // The copy is stored again under its old name: no verb lists or picks it; check names it, as a warning (an
        // interrupted forget leaves the same), and finds no damage.
        File.WriteAllBytes(SnapshotFile(old), copy);
        Assert.Equal([current], Listed());
        var check = _cli.Ok("check");
        Assert.Matches($@"(?m)^warning: snapshots/{old}: it was forgotten \(a tombstone buries it\) and is still or again stored", check.Stdout);
        Assert.Contains("no errors were found (see the warnings above)", check.Stdout);
        var checkJson = JsonOutput.Result(_cli.Ok("check", "--json").Stdout);
        Assert.True(checkJson.GetProperty("ok").GetBoolean());
        var finding = Assert.Single(checkJson.GetProperty("problems").EnumerateArray());
        Assert.Equal($"snapshots/{old}", finding.GetProperty("object").GetString());
        Assert.True(finding.GetProperty("warning").GetBoolean());

        // forget names the replay, in a dry run without touching it, then removes it again.
        var dry = JsonDocument.Parse(_cli.Ok("forget", "--keep-last", "1", "--dry-run", "--json").Stdout).RootElement;
        Assert.Equal([old], dry.GetProperty("replayed").EnumerateArray().Select(r => r.GetString()!));
        var dryText = _cli.Ok("forget", "--keep-last", "1", "--dry-run").Stdout;
        Assert.Contains("replayed snapshots (forgotten before and stored again; ignored everywhere), would be removed again:", dryText);
        Assert.Contains("  " + old[..8], dryText);
        Assert.True(File.Exists(SnapshotFile(old)));

        var real = JsonDocument.Parse(_cli.Ok("forget", "--keep-last", "1", "--json").Stdout).RootElement;
        Assert.Equal([old], real.GetProperty("replayed").EnumerateArray().Select(r => r.GetString()!));
        Assert.Equal(0, real.GetProperty("removed").GetInt32());
        Assert.False(File.Exists(SnapshotFile(old)));
        Assert.DoesNotContain("warning", _cli.Ok("check").Stdout);

        // Replayed once more: the text report says it went again; nothing else was removed.
        File.WriteAllBytes(SnapshotFile(old), copy);
        var text = _cli.Ok("forget", "--keep-last", "1").Stdout;
        Assert.Contains("replayed snapshots (forgotten before and stored again; ignored everywhere), removed again:", text);
        Assert.Contains("  " + old[..8], text);
        Assert.False(File.Exists(SnapshotFile(old)));
        Assert.Equal([current], Listed());
        Assert.Empty(JsonDocument.Parse(_cli.Ok("forget", "--keep-last", "1", "--json").Stdout).RootElement.GetProperty("replayed").EnumerateArray());
    }

    [Fact]
    public async Task ClaimsOfAnotherHostsPacks_InAWriterDomain_AreCountedByPrune_AsForeign()
    {
        Backup("the full key's data");
        var packs = Packs();
        Assert.NotEmpty(packs);
        var hostPassword = _cli.Dir.Combine("web2.pass");
        File.WriteAllText(hostPassword, "web2's password");
        var keyId = JsonDocument.Parse(_cli.Ok(["key", "add", "--write-only", "--host", "web2", "--new-password-file", hostPassword, "--json", .. DedupCli.FastKdf]).Stdout)
            .RootElement.GetProperty("id").GetString()!;

        // A compromised web2, with its write-only key and a store it can only add to, claims a blob of its own domain in
        // every pack it can list: all of them are the full key's.
        var storage = new LocalStorage(_cli.Repo);
        await using (var attacker = await Repo.OpenAsync(storage, Encoding.UTF8.GetBytes("web2's password"),
                         options: new Dedup.Repository.OpenOptions { KeyHint = ObjectId.Parse(keyId) }))
        {
            var claims = packs.Select(p =>
            {
                var wrapped = new byte[KeyWrap.WrappedSize];
                KeyWrap.Wrap(RandomNumberGenerator.GetBytes(Aead.KeySize), attacker.Keys.ReadPublicKey, wrapped);
                return new IndexPack(ObjectId.Parse(p), BlobType.Data, wrapped, [new IndexBlob(new ObjectId(RandomNumberGenerator.GetBytes(ObjectId.Size)), 0, 100, 100)]);
            }).ToList();
            var index = IndexFile.Seal(claims, attacker.Keys.Own, attacker.Keys);
            Assert.Equal(PutOutcome.Created, await storage.PutAsync(Layout.IndexPrefix + ObjectId.HashOf(index), index));
        }

        var dry = JsonOutput.Result(_cli.Ok("prune", "--dry-run", "--json").Stdout);
        Assert.Equal(packs.Count, dry.GetProperty("foreign_claims_ignored").GetInt32());
        var text = _cli.Ok("prune").Stdout;
        Assert.Contains($"{packs.Count} foreign claims ignored (a pack claimed in another dedup domain than its header records)", text);
        // check names each false claim; the full key's data stays whole, its own claims keep it.
        var check = _cli.Run(["-r", _cli.Repo, "check", "--read-data"]);
        Assert.Equal(12, check.ExitCode);
        foreach (var pack in packs)
            Assert.Matches($@"(?m)^error: data/{pack[..2]}/{pack}: the index puts it in dedup domain [0-9a-f]{{8}}, its header in repository$", check.Stdout);
        Assert.Equal("the full key's data", _cli.Ok("dump", "latest", Path.Combine(_src, "f.txt")).Stdout);
    }

    public void Dispose() => _cli.Dispose();
}
