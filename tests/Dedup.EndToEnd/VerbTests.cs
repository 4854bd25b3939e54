using System.Text;
using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd;

public sealed class VerbTests : IDisposable
{
    private readonly DedupCli _cli = new();

    [Fact]
    public void BackupStdin_ThenDumpWritesTheSameBytes()
    {
        _cli.Init();
        var data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 20_000).Select(i => $"INSERT INTO t VALUES ({i});\n")));
        var r = _cli.Run(["-r", _cli.Repo, "backup", "--stdin", "--stdin-filename", "db.sql", "--json"], stdin: data);
        Assert.True(r.ExitCode == 0, r.ToString());
        var id = JsonOutput.Result(r.Stdout).GetProperty("snapshot_id").GetString()!;
        var dump = _cli.Ok("dump", id[..8], "/db.sql");
        Assert.Equal(data, dump.StdoutBytes);
    }

    [Fact]
    public void Ls_ListsEntries_PlainLongAndJson()
    {
        var src = _cli.Dir.Combine("src");
        TreeFixture.Build(src, seed: 4);
        _cli.Init();
        _cli.Ok("backup", src);
        var root = Path.GetFullPath(src);

        var plain = _cli.Ok("ls", "latest").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(root + "/small/naïve café ☕.txt", plain);
        Assert.Contains(root + "/empty dir", plain);

        var longLines = _cli.Ok("ls", "latest", root + "/small", "--long").Stdout;
        Assert.Contains("-rwxr-xr-x", longLines);
        Assert.Contains(" 4096 ", longLines);

        var json = _cli.Ok("ls", "latest", "--json").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var link = json.Single(e => e.GetProperty("path").GetString() == root + "/link to script");
        Assert.Equal("symlink", link.GetProperty("type").GetString());
        Assert.Equal("small/script.sh", link.GetProperty("link_target").GetString());
        var big = json.Single(e => e.GetProperty("path").GetString() == root + "/large/random.bin");
        Assert.Equal(3 * 1024 * 1024 + 17, big.GetProperty("size").GetInt64());

        var dumped = _cli.Ok("dump", "latest", root + "/large/random.bin").StdoutBytes;
        Assert.Equal(File.ReadAllBytes(Path.Combine(src, "large", "random.bin")), dumped);
    }

    [Fact]
    public void Policy_Client_HasNoDelete_AndRequiresIfNoneMatch()
    {
        var r = _cli.Run(["policy", "--bucket", "backups", "--prefix", "host1", "--role", "client"], withPassword: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        var policy = JsonDocument.Parse(r.Stdout).RootElement;
        var statements = policy.GetProperty("Statement").EnumerateArray().ToList();
        var allowed = statements.Where(s => s.GetProperty("Effect").GetString() == "Allow")
            .SelectMany(s => s.GetProperty("Action").EnumerateArray().Select(a => a.GetString()!)).ToList();
        Assert.DoesNotContain(allowed, a => a.Contains("Delete", StringComparison.OrdinalIgnoreCase) || a.Contains('*') || a.Contains("Abort"));
        Assert.Contains("s3:PutObject", allowed);
        Assert.Contains("s3:GetObject", allowed);
        Assert.Contains("s3:ListBucket", allowed);
        var deny = statements.Single(s => s.GetProperty("Sid").GetString() == "CreateOnlyNoOverwrite");
        Assert.Equal("Deny", deny.GetProperty("Effect").GetString());
        Assert.Equal("true", deny.GetProperty("Condition").GetProperty("Null").GetProperty("s3:if-none-match").GetString());
        Assert.Equal("arn:aws:s3:::backups/host1/*", deny.GetProperty("Resource").GetString());

        // No key file is readable but the host's own (--key-id): the admin's stays out of reach of offline guessing.
        const string HostKey = "5e0f2c8a1b3d4e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";
        var writeOnly = JsonDocument.Parse(_cli.Run(["policy", "--bucket", "backups", "--prefix", "host1", "--role", "write-only", "--key-id", HostKey], withPassword: false).Stdout)
            .RootElement.GetProperty("Statement").EnumerateArray().ToList();
        List<string> Resources(JsonElement s) => s.GetProperty("Resource").ValueKind == JsonValueKind.Array
            ? s.GetProperty("Resource").EnumerateArray().Select(r => r.GetString()!).ToList() : [s.GetProperty("Resource").GetString()!];
        var readable = writeOnly.Where(s => s.GetProperty("Effect").GetString() == "Allow" && s.GetProperty("Action").EnumerateArray().Any(a => a.GetString() == "s3:GetObject"))
            .SelectMany(Resources).ToList();
        Assert.Equal(["config", "index/*", "marks/*", "revocations/*", "keys/" + HostKey], readable.Select(r => r["arn:aws:s3:::backups/host1/".Length..]));
        var denied = writeOnly.Where(s => s.GetProperty("Effect").GetString() == "Deny" && s.GetProperty("Action").EnumerateArray().Any(a => a.GetString() == "s3:GetObject"))
            .SelectMany(Resources).ToList();
        // Denied outright, even for the host's own uploads: content, and the backup markers no backup reads back.
        Assert.Equal(["data/*", "snapshots/*", "inflight/*"], denied.Select(r => r["arn:aws:s3:::backups/host1/".Length..]));

        var admin = JsonDocument.Parse(_cli.Run(["policy", "--bucket", "backups", "--role", "admin"], withPassword: false).Stdout).RootElement;
        Assert.Contains(admin.GetProperty("Statement").EnumerateArray(), s => s.GetProperty("Action").EnumerateArray().Any(a => a.GetString() == "s3:*"));
    }

    [Fact]
    public void KeyAdd_NewPasswordOpens_AndKeyInUseCannotBeRemoved()
    {
        _cli.Init();
        var second = _cli.Dir.Combine("second");
        File.WriteAllText(second, "another password");
        _cli.Ok(["key", "add", "--new-password-file", second, .. DedupCli.FastKdf]);
        var keys = JsonDocument.Parse(_cli.Ok("key", "list", "--json").Stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(2, keys.Count);
        var current = keys.Single(k => k.GetProperty("current").GetBoolean()).GetProperty("id").GetString()!;

        var refused = _cli.Run(["-r", _cli.Repo, "key", "remove", current[..8]]);
        Assert.Equal(1, refused.ExitCode);
        Assert.Single(refused.StderrLines);

        var other = _cli.Run(["-r", _cli.Repo, "key", "remove", current[..8]], new() { ["DEDUP_PASSWORD_FILE"] = second });
        Assert.True(other.ExitCode == 0, other.ToString());
        Assert.Equal(11, _cli.Run(["-r", _cli.Repo, "snapshots"]).ExitCode);
    }

    [Fact]
    public void Cat_Config_And_Snapshot_PrintJson()
    {
        var src = _cli.Dir.CreateDirectory("src");
        File.WriteAllText(Path.Combine(src, "f"), "x");
        _cli.Init();
        _cli.Ok("backup", src);
        Assert.Equal(Dedup.Repository.RepositoryConfig.CurrentVersion, JsonDocument.Parse(_cli.Ok("cat", "config").Stdout).RootElement.GetProperty("version").GetInt32());
        var snap = JsonDocument.Parse(_cli.Ok("cat", "snapshot", "latest").Stdout).RootElement;
        var tree = snap.GetProperty("tree")[0].GetString()!;
        var nodes = JsonDocument.Parse(_cli.Ok("cat", "tree", tree).Stdout).RootElement.GetProperty("nodes");
        Assert.True(nodes.GetArrayLength() > 0);
        var key = _cli.Ok("cat", "key", JsonDocument.Parse(_cli.Ok("key", "list", "--json").Stdout).RootElement[0].GetProperty("id").GetString()!).Stdout;
        Assert.Contains("sealed", key);
    }

    public void Dispose() => _cli.Dispose();
}
