using Xunit;

namespace Dedup.EndToEnd;

/// <summary>Bad input gets one line on stderr starting "dedup: ", no stack trace, and the documented exit code.</summary>
public sealed class ErrorTests : IDisposable
{
    private readonly DedupCli _cli = new();

    private static void AssertOneLine(CliResult r)
    {
        var line = Assert.Single(r.StderrLines);
        Assert.StartsWith("dedup: ", line);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void WrongPassword_Exits11WithOneLine()
    {
        _cli.Init();
        var wrong = _cli.Dir.Combine("wrong");
        File.WriteAllText(wrong, "not the password");
        var r = _cli.Run(["-r", _cli.Repo, "snapshots"], new() { ["DEDUP_PASSWORD_FILE"] = wrong });
        Assert.Equal(11, r.ExitCode);
        AssertOneLine(r);
        Assert.Contains("password", r.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("not the password", r.Stderr + r.Stdout);
    }

    [Fact]
    public void NotARepository_Exits10WithOneLine()
    {
        var empty = _cli.Dir.CreateDirectory("empty");
        var r = _cli.Run(["-r", empty, "snapshots"]);
        Assert.Equal(10, r.ExitCode);
        AssertOneLine(r);
        var missing = _cli.Run(["-r", _cli.Dir.Combine("missing"), "snapshots"]);
        Assert.Equal(10, missing.ExitCode);
    }

    [Fact]
    public void MissingPassword_WhenNotOnATerminal_IsAClearError()
    {
        var r = _cli.Run(["-r", _cli.Repo, "init"], withPassword: false);
        Assert.NotEqual(0, r.ExitCode);
        AssertOneLine(r);
        Assert.Contains("no password: give --password-file FILE, set DEDUP_PASSWORD_FILE or DEDUP_PASSWORD, or run on a terminal", r.Stderr);
        Assert.False(Directory.Exists(_cli.Repo), "nothing may be written without a password");
    }

    [Fact]
    public void BinaryPasswordFiles_AreUsedAsGiven_SoTwoInvalidUtf8PasswordsNeverOpenTheSameKey()
    {
        // 0xFF and 0xFE are both invalid UTF-8: a lossy decode made both U+FFFD, and either file opened the key.
        var first = _cli.Dir.Combine("binary-1");
        var second = _cli.Dir.Combine("binary-2");
        File.WriteAllBytes(first, [0x73, 0xFF, 0x00, 0x01]);
        File.WriteAllBytes(second, [0x73, 0xFE, 0x00, 0x01]);
        var init = _cli.Run(["-r", _cli.Repo, "init", .. DedupCli.FastKdf], new() { ["DEDUP_PASSWORD_FILE"] = first });
        Assert.Equal(0, init.ExitCode);
        Assert.Equal(0, _cli.Run(["-r", _cli.Repo, "snapshots"], new() { ["DEDUP_PASSWORD_FILE"] = first }).ExitCode);
        var other = _cli.Run(["-r", _cli.Repo, "snapshots"], new() { ["DEDUP_PASSWORD_FILE"] = second });
        Assert.Equal(11, other.ExitCode);
        AssertOneLine(other);
    }

    [Fact]
    public void PasswordFromEnvironment_AndTrailingNewlineOfTheFile_AreHandled()
    {
        _cli.Init();
        // The file holds "…staple\n"; the password is without the newline.
        var r = _cli.Run(["-r", _cli.Repo, "snapshots"], new() { ["DEDUP_PASSWORD"] = "correct horse battery staple" }, withPassword: false);
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public void InitTwice_IsRefused()
    {
        _cli.Init();
        var r = _cli.Init();
        Assert.Equal(1, r.ExitCode);
        AssertOneLine(r);
        Assert.Contains("already exists", r.Stderr);
    }

    [Fact]
    public void RestoreTarget_ThatIsAFile_IsNamedWithWhatToDo()
    {
        _cli.Init();
        var data = _cli.Dir.CreateDirectory("data");
        File.WriteAllText(Path.Combine(data, "a.txt"), "a");
        _cli.Ok("backup", data);
        var file = _cli.Dir.Combine("afile");
        File.WriteAllText(file, "keep me");
        var r = _cli.Run(["-r", _cli.Repo, "restore", "latest", "--target", file]);
        Assert.Equal(1, r.ExitCode);
        AssertOneLine(r);
        Assert.Contains($"'{file}' exists and is not a directory", r.Stderr);
        Assert.Equal("keep me", File.ReadAllText(file));
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("backup", "--no-such-option")]
    [InlineData("restore")]
    [InlineData("backup", "--tag")]
    public void UsageErrors_Exit2WithOneLine(params string[] args)
    {
        var r = _cli.Run(["-r", _cli.Repo, .. args]);
        Assert.Equal(2, r.ExitCode);
        AssertOneLine(r);
    }

    [Fact]
    public void NoRepositoryGiven_IsAUsageError()
    {
        var r = _cli.Run(["snapshots"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("DEDUP_REPOSITORY", r.Stderr);
    }

    [Fact]
    public void Help_DocumentsTheExitCodes()
    {
        var r = _cli.Run(["help", "exit-codes"]);
        Assert.Equal(0, r.ExitCode);
        foreach (var code in new[] { "0", "1", "2", "3", "10", "11", "12", "130" }) Assert.Contains($"  {code} ", r.Stdout);
        Assert.Equal(0, _cli.Run(["backup", "--help"]).ExitCode);
    }

    [Fact]
    public void DamagedPack_IsNamedByCheckReadData_WithExit12()
    {
        var src = _cli.Dir.CreateDirectory("src");
        File.WriteAllBytes(Path.Combine(src, "data.bin"), new byte[100_000].Select((_, i) => (byte)(i * 7)).ToArray());
        _cli.Init();
        _cli.Ok("backup", src);
        _cli.Ok("check", "--read-data");
        var pack = Directory.EnumerateFiles(Path.Combine(_cli.Repo, "data"), "*", SearchOption.AllDirectories).OrderByDescending(f => new FileInfo(f).Length).First();
        var bytes = File.ReadAllBytes(pack);
        bytes[bytes.Length / 3] ^= 0x40;
        File.SetUnixFileMode(pack, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllBytes(pack, bytes);
        var r = _cli.Run(["-r", _cli.Repo, "check", "--read-data"]);
        Assert.Equal(12, r.ExitCode);
        Assert.Contains(Path.GetFileName(pack), r.Stdout + r.Stderr);
    }

    public void Dispose() => _cli.Dispose();
}
