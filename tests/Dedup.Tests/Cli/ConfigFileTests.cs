using Dedup.Cli.Cli;
using Dedup.Cli.Profiles;
using Xunit;

namespace Dedup.Tests.Cli;

/// <summary>The profile schema: every documented key is read, and every mistake names its file and line.</summary>
public sealed class ConfigFileTests
{
    private const string Source = "/etc/dedup/config.toml";

    [Fact]
    public void EveryDocumentedKey_IsRead()
    {
        var profiles = ConfigFile.Parse("""
            # the example of 'dedup help profiles', in all its parts
            [profiles.home]
            repository = "s3:https://s3.example.net/backups/home"
            password-file = "home.pass"
            cache-dir = "/var/cache/dedup"
            key = "5e0f2c8a1b3d4e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7"
            limit-upload = 2048
            limit-download = 4096
            paths = ["/home", "/etc"]
            exclude = ["*.tmp"]
            exclude-file = "/etc/dedup/excludes"
            tags = ["nightly", "home"]
            host = "web1"
            one-file-system = true
            s3.region = "eu-west-1"
            s3.connections = 8
            s3.storage-class = "STANDARD_IA"

            [profiles.home.retention]
            keep-last = 1
            keep-hourly = 2
            keep-daily = 7
            keep-weekly = 4
            keep-monthly = 12
            keep-yearly = 3
            keep-within = "2d"
            keep-tag = ["keep"]
            group-by = "host"

            [profiles.home.hooks]
            before = ["one", "two"]
            after = "three"
            on-failure = ["four"]
            always = "five"

            [profiles."other-1"]
            repository = "/srv/repo"
            s3 = { region = "us-east-2", connections = 3 }
            """, Source);
        Assert.Equal(["home", "other-1"], profiles.Keys.Order());
        var p = profiles["home"];
        Assert.Equal("s3:https://s3.example.net/backups/home", p.Repository);
        Assert.Equal("/etc/dedup/home.pass", p.PasswordFile);
        Assert.Equal("/var/cache/dedup", p.CacheDir);
        Assert.Equal("5e0f2c8a1b3d4e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7", p.Key);
        Assert.Equal((2048L, 4096L), (p.LimitUploadKiB, p.LimitDownloadKiB));
        Assert.Equal(["/home", "/etc"], p.Paths);
        Assert.Equal(["*.tmp"], p.Excludes);
        Assert.Equal(["/etc/dedup/excludes"], p.ExcludeFiles);
        Assert.Equal(["nightly", "home"], p.Tags);
        Assert.Equal("web1", p.Host);
        Assert.True(p.OneFileSystem);
        Assert.Equal(("eu-west-1", 8, "STANDARD_IA"), (p.S3Region, p.S3Connections, p.S3StorageClass));
        var r = p.Retention;
        Assert.Equal((1, 2, 7, 4, 12, 3), (r.Last, r.Hourly, r.Daily, r.Weekly, r.Monthly, r.Yearly));
        Assert.Equal(TimeSpan.FromDays(2), r.Within);
        Assert.Equal(["keep"], r.KeepTags);
        Assert.Equal(["host"], r.GroupBy);
        Assert.Equal(["one", "two"], p.Hooks.Before);
        Assert.Equal(["three"], p.Hooks.After);
        Assert.Equal(["four"], p.Hooks.OnFailure);
        Assert.Equal(["five"], p.Hooks.Always);
        Assert.Equal("/srv/repo", profiles["other-1"].Repository);
        Assert.Equal(("us-east-2", 3), (profiles["other-1"].S3Region, profiles["other-1"].S3Connections));
        Assert.True(profiles["other-1"].Hooks.IsEmpty);
    }

    [Theory]
    [InlineData("[profiles.home]\nrepository = \"/r\"\nreposit0ry = \"/s\"\n", 3, "unknown key 'reposit0ry' in profile 'home'")]
    [InlineData("[profiles.home]\n\n[profiles.home.hooks]\nbefor = \"x\"\n", 4, "unknown key 'hooks.befor' in profile 'home'")]
    [InlineData("repository = \"/r\"\n", 1, "unknown key 'repository': settings belong to a profile, under [profiles.NAME]")]
    [InlineData("[profile.home]\nrepository = \"/r\"\n", 1, "unknown table [profile.home]")]
    [InlineData("[profiles.home.s4]\nregion = \"x\"\n", 1, "unknown table [profiles.home.s4]")]
    [InlineData("[profiles.home]\npassword = \"hunter2\"\n", 2, "'password': the config names a password file, never a password")]
    [InlineData("[profiles.home]\ns3.secret-key = \"abc\"\n", 2, "S3 credentials come from the AWS chain")]
    [InlineData("[profiles.home]\nrepository = 3\n", 2, "'repository' takes a string in quotes")]
    [InlineData("[profiles.home]\npaths = [\"/a\", 3]\n", 2, "'paths' takes strings in quotes")]
    [InlineData("[profiles.home]\none-file-system = \"yes\"\n", 2, "'one-file-system' takes true or false")]
    [InlineData("[profiles.home.s3]\nconnections = 0\n", 2, "'s3.connections' takes a whole number from 1 to 256")]
    [InlineData("[profiles.home]\nlimit-upload = 0\n", 2, "'limit-upload' takes a whole number from 1 to")]
    [InlineData("[profiles.home]\nkey = 12\n", 2, "'key' takes a string in quotes")]
    [InlineData("[profiles.home.retention]\nkeep-within = \"soon\"\n", 2, "'retention.keep-within': ")]
    [InlineData("[profiles.home]\nrepository = \"/r\"\nrepository = \"/s\"\n", 3, "already defined")]
    [InlineData("[profiles.home]\nrepository = = \"/r\"\n", 2, "Unexpected token")]
    [InlineData("[[profiles.home]]\nrepository = \"/r\"\n", 1, "arrays of tables are not part of the config")]
    [InlineData("[profiles.\"a b\"]\nrepository = \"/r\"\n", 1, "'a b' is not a profile name")]
    public void Mistakes_NameTheFileAndLine(string toml, int line, string message)
    {
        var e = Assert.Throws<UsageException>(() => ConfigFile.Parse(toml, Source));
        Assert.StartsWith($"{Source} line {line}: ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void APasswordIsNeverEchoed_InTheRefusal()
    {
        var e = Assert.Throws<UsageException>(() => ConfigFile.Parse("[profiles.home]\npassword = \"hunter2-secret-value\"\n", Source));
        Assert.DoesNotContain("hunter2", e.Message);
    }

    [Fact]
    public void TheHelpExample_IsAValidConfig()
    {
        var example = string.Join('\n', ConfigFile.Help.Split('\n')
            .SkipWhile(l => !l.TrimStart().StartsWith("[profiles.home]", StringComparison.Ordinal))
            .TakeWhile(l => l.Length == 0 || l.StartsWith("  ", StringComparison.Ordinal)));
        var p = ConfigFile.Parse(example, Source)["home"];
        Assert.Equal(["/home", "/etc"], p.Paths);
        Assert.Equal(2, p.Hooks.Before.Count);
        Assert.Equal(7, p.Retention.Daily);
    }
}
