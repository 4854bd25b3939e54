using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd.Cli;

/// <summary>Profiles through the real CLI: what a profile supplies, and that an option or the environment beats it.</summary>
public sealed class ProfileTests : IDisposable
{
    private readonly DedupCli _cli = new();
    private readonly string _config;

    public ProfileTests() => _config = _cli.Dir.Combine("config.toml");

    private Dictionary<string, string?> Env(Dictionary<string, string?>? extra = null)
    {
        var env = new Dictionary<string, string?> { ["DEDUP_CONFIG"] = _config };
        foreach (var (k, v) in extra ?? []) env[k] = v;
        return env;
    }

    private string RepositoryId(CliResult r)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        return JsonDocument.Parse(r.Stdout).RootElement.GetProperty("id").GetString()!;
    }

    private string InitAt(string name)
    {
        var repo = _cli.Dir.Combine(name);
        Assert.Equal(0, _cli.Run(["-r", repo, "init", .. DedupCli.FastKdf]).ExitCode);
        return RepositoryId(_cli.Run(["-r", repo, "cat", "config"]));
    }

    [Fact]
    public void Repository_OptionBeatsEnvironment_WhichBeatsProfile_WhichBeatsNothing()
    {
        var fromProfile = InitAt("profile-repo");
        var fromEnv = InitAt("env-repo");
        var fromOption = InitAt("option-repo");
        Assert.Equal(3, new[] { fromProfile, fromEnv, fromOption }.Distinct().Count());
        File.WriteAllText(_config, $"[profiles.home]\nrepository = \"{_cli.Dir.Combine("profile-repo")}\"\n");

        Assert.Equal(fromProfile, RepositoryId(_cli.Run(["-p", "home", "cat", "config"], Env())));
        Assert.Equal(fromEnv, RepositoryId(_cli.Run(["-p", "home", "cat", "config"], Env(new() { ["DEDUP_REPOSITORY"] = _cli.Dir.Combine("env-repo") }))));
        Assert.Equal(fromOption, RepositoryId(_cli.Run(["cat", "config", "-r", _cli.Dir.Combine("option-repo"), "--profile", "home"],
            Env(new() { ["DEDUP_REPOSITORY"] = _cli.Dir.Combine("env-repo") }))));
        var none = _cli.Run(["cat", "config"], Env());
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("no repository", none.Stderr);
    }

    [Fact]
    public void PasswordFile_OptionAndEnvironmentBeatTheProfiles()
    {
        _cli.Init();
        var wrong = _cli.Dir.Combine("wrong.pass");
        File.WriteAllText(wrong, "not it\n");
        File.WriteAllText(_config, $"[profiles.home]\nrepository = \"{_cli.Repo}\"\npassword-file = \"wrong.pass\"\n");

        // The profile's file alone (relative to the config's folder) is the wrong password.
        Assert.Equal(11, _cli.Run(["-p", "home", "snapshots"], Env(), withPassword: false).ExitCode);
        // DEDUP_PASSWORD_FILE and DEDUP_PASSWORD beat it; --password-file beats the environment.
        Assert.Equal(0, _cli.Run(["-p", "home", "snapshots"], Env()).ExitCode);
        Assert.Equal(0, _cli.Run(["-p", "home", "snapshots"], Env(new() { ["DEDUP_PASSWORD"] = "correct horse battery staple" }), withPassword: false).ExitCode);
        Assert.Equal(0, _cli.Run(["-p", "home", "snapshots", "--password-file", _cli.PasswordFile], Env(new() { ["DEDUP_PASSWORD_FILE"] = wrong })).ExitCode);
        Assert.Equal(11, _cli.Run(["-p", "home", "snapshots"], Env(new() { ["DEDUP_PASSWORD_FILE"] = wrong })).ExitCode);
    }

    [Fact]
    public void Backup_TakesPathsExcludesAndTagsFromTheProfile_AndOptionsReplaceThem()
    {
        _cli.Init();
        var src = _cli.Dir.CreateDirectory("src");
        File.WriteAllText(Path.Combine(src, "keep.txt"), "keep");
        File.WriteAllText(Path.Combine(src, "drop.tmp"), "drop");
        var other = _cli.Dir.CreateDirectory("other");
        File.WriteAllText(Path.Combine(other, "x.tmp"), "x");
        File.WriteAllText(_config, $"""
            [profiles.home]
            repository = "{_cli.Repo}"
            paths = ["{src}"]
            exclude = ["*.tmp"]
            tags = ["nightly", "profile"]
            host = "profile-host"
            """);

        Assert.Equal(0, _cli.Run(["-p", "home", "backup"], Env()).ExitCode);
        var first = Snapshots().Single();
        Assert.Equal([src], Strings(first, "paths"));
        Assert.Equal(["nightly", "profile"], Strings(first, "tags"));
        Assert.Equal("profile-host", first.GetProperty("host").GetString());
        var listed = _cli.Ok("ls", "latest").Stdout;
        Assert.Contains("/keep.txt", listed);
        Assert.DoesNotContain("drop.tmp", listed);

        Assert.Equal(0, _cli.Run(["-p", "home", "backup", other, "--tag", "manual", "--exclude", "nothing", "--host", "cli-host"], Env()).ExitCode);
        var second = Snapshots().Last();
        Assert.Equal([other], Strings(second, "paths"));
        Assert.Equal(["manual"], Strings(second, "tags"));
        Assert.Equal("cli-host", second.GetProperty("host").GetString());
        Assert.Contains("/x.tmp", _cli.Ok("ls", second.GetProperty("id").GetString()!).Stdout);
    }

    [Fact]
    public void Forget_UsesTheProfilesRetention_UnlessAKeepOptionIsGiven()
    {
        _cli.Init();
        var src = _cli.Dir.CreateDirectory("src");
        File.WriteAllText(Path.Combine(src, "f"), "1");
        for (int i = 0; i < 3; i++) _cli.Ok("backup", src, "--tag", $"n{i}");
        File.WriteAllText(_config, $"[profiles.admin]\nrepository = \"{_cli.Repo}\"\n\n[profiles.admin.retention]\nkeep-last = 1\n");

        var byOption = JsonDocument.Parse(_cli.Run(["-p", "admin", "forget", "--keep-last", "2", "--dry-run", "--json"], Env()).Stdout).RootElement;
        Assert.Equal(2, Kept(byOption));
        var byProfile = _cli.Run(["-p", "admin", "forget", "--json"], Env());
        Assert.True(byProfile.ExitCode == 0, byProfile.ToString());
        Assert.Equal(2, JsonDocument.Parse(byProfile.Stdout).RootElement.GetProperty("removed").GetInt32());
        Assert.Equal(["n2"], Strings(Snapshots().Single(), "tags"));
    }

    [Fact]
    public void ConfigMistakes_AreOneLineWithTheLine_AndUnknownProfilesListTheKnownOnes()
    {
        File.WriteAllText(_config, "[profiles.home]\nrepository = \"/r\"\nrepostiory = \"/s\"\n");
        var typo = _cli.Run(["-p", "home", "snapshots"], Env());
        Assert.Equal(2, typo.ExitCode);
        Assert.Equal($"dedup: {_config} line 3: unknown key 'repostiory' in profile 'home' ('dedup help profiles' lists the keys)", Assert.Single(typo.StderrLines));

        File.WriteAllText(_config, "[profiles.home]\npassword = \"hunter2\"\n");
        var secret = _cli.Run(["-p", "home", "snapshots"], Env());
        Assert.Equal(2, secret.ExitCode);
        Assert.Contains("line 2: 'password': the config names a password file, never a password", Assert.Single(secret.StderrLines));
        Assert.DoesNotContain("hunter2", secret.Stderr);

        File.WriteAllText(_config, "[profiles.home]\nrepository = \"/r\"\n[profiles.work]\nrepository = \"/w\"\n");
        var unknown = _cli.Run(["-p", "hme", "snapshots"], Env());
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("no profile 'hme' in " + _config + "; the profiles are: home, work", unknown.Stderr);

        // Without -p the config is not read at all: a broken file stops nobody who does not use it.
        File.WriteAllText(_config, "this is not toml");
        _cli.Init();
        Assert.Equal(0, _cli.Run(["-r", _cli.Repo, "snapshots"], Env()).ExitCode);
    }

    private List<JsonElement> Snapshots() =>
        JsonDocument.Parse(_cli.Ok("snapshots", "--json").Stdout).RootElement.EnumerateArray().ToList();

    private static List<string> Strings(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetString()!).ToList();

    private static int Kept(JsonElement forget) =>
        forget.GetProperty("groups").EnumerateArray().SelectMany(g => g.GetProperty("snapshots").EnumerateArray()).Count(s => s.GetProperty("keep").GetBoolean());

    public void Dispose() => _cli.Dispose();
}
