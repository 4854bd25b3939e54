using System.Reflection;
using Dedup.Cli.Cli;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Storage;
using Xunit;

namespace Dedup.Tests.Cli;

/// <summary>Every failure maps to its documented exit code and one line; every code is documented.</summary>
public sealed class ExitCodeTests
{
    public static TheoryData<Exception, bool, int> Failures() => new()
    {
        { new UsageException("bad"), false, ExitCodes.Usage },
        { new ArgumentException("bad pattern"), false, ExitCodes.Usage },
        { new OperationCanceledException(), true, ExitCodes.Interrupted },
        { new RepositoryNotFoundException("/nowhere"), false, ExitCodes.RepositoryNotFound },
        { new WrongPasswordException(), false, ExitCodes.WrongPassword },
        { new CorruptObjectException("data/ab/ab12", "bad tag"), false, ExitCodes.Damaged },
        { new BlobMissingException(ObjectId.HashOf([1])), false, ExitCodes.Damaged },
        { new StorageAccessDeniedException("denied") { Operation = "delete" }, false, ExitCodes.Error },
        { new StorageFullException("full"), false, ExitCodes.Error },
        { new IOException("disk"), false, ExitCodes.Error },
        { new InvalidOperationException("bug"), false, ExitCodes.Error },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Failures_GetTheirExitCode_AndOneLine(Exception e, bool interrupted, int code)
    {
        var stderr = new StringWriter();
        var (reported, message) = ErrorReport.Report(new AggregateException(e), interrupted, stderr);
        Assert.Equal(code, reported);
        Assert.Equal("dedup: " + message + Environment.NewLine, stderr.ToString());
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void EveryExitCode_IsDocumented_AndNoneRepeats()
    {
        var codes = typeof(ExitCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int)).Select(f => (int)f.GetRawConstantValue()!).ToList();
        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.Contains(ExitCodes.HookFailed, codes);
        foreach (var code in codes) Assert.Matches($@"(?m)^  {code} +\S", ExitCodes.Help);
    }

    [Fact]
    public void TheReadmeTable_ListsEveryExitCode()
    {
        var readme = File.ReadAllText(Dedup.TestKit.RepoRoot.Combine("README.md"));
        var codes = typeof(ExitCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int)).Select(f => (int)f.GetRawConstantValue()!);
        foreach (var code in codes) Assert.Matches($@"(?m)^\| {code} \| ", readme);
    }
}
