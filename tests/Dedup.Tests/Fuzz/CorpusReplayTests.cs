using Dedup.Fuzz;
using Dedup.TestKit;
using Xunit;

namespace Dedup.Tests.Fuzz;

/// <summary>
/// Replays the committed fuzz corpus through every target. A target swallows only the documented
/// CorruptObjectException, so any exception reaching here is a parser bug.
/// </summary>
public sealed class CorpusReplayTests
{
    public static TheoryData<string> Targets() => [.. FuzzTargets.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Corpus_replays_without_unexpected_exceptions(string name)
    {
        var target = FuzzTargets.Get(name);
        var dir = RepoRoot.Combine("fuzz", "corpus", name);
        Assert.True(Directory.Exists(dir), $"no corpus for target '{name}': run 'dedup-fuzz seed fuzz/corpus'");
        var files = Directory.GetFiles(dir);
        Assert.NotEmpty(files);
        foreach (var f in files)
        {
            var ex = Record.Exception(() => target.Run(File.ReadAllBytes(f)));
            Assert.True(ex is null, $"{Path.GetFileName(f)}: {ex}");
        }
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Seeds_are_accepted_or_cleanly_rejected_under_random_mutation(string name)
    {
        // A short in-process mutation run on every CI pass: not a coverage-guided campaign, but it catches regressions
        // in length and bounds handling between campaigns.
        var target = FuzzTargets.Get(name);
        var rng = new Random(name.Length * 7919);
        foreach (var seed in target.Seeds())
        {
            for (int i = 0; i < 150; i++)
            {
                var input = Corpus.RandomMutation(seed, rng);
                var ex = Record.Exception(() => target.Run(input));
                Assert.True(ex is null, $"input {Convert.ToHexString(input)}: {ex}");
            }
        }
    }
}
