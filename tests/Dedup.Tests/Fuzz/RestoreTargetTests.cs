using Dedup.Fuzz;
using Dedup.Fuzz.Targets;
using Dedup.TestKit;
using Xunit;

namespace Dedup.Tests.Fuzz;

/// <summary>The "restore" fuzz target only explores damage if its fixture, undamaged, restores completely.</summary>
public sealed class RestoreTargetTests
{
    [Fact]
    public async Task The_undamaged_fixture_restores_every_file_of_both_snapshots()
    {
        var fixture = RestoreFixture.Shared;
        var (pack, bytes) = fixture.Mutable.First(o => o.Name.StartsWith("data/", StringComparison.Ordinal));
        using var dir = new TempDir();
        var results = await RestoreTarget.RunAsync(fixture, pack, bytes, dir.Path);

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Empty(r.Failures));
        var root = Directory.GetDirectories(dir.Path, "tree", SearchOption.AllDirectories).Single();
        Assert.Equal(40_000, new FileInfo(Path.Combine(root, "random.bin")).Length);
        Assert.StartsWith("a line of text\n", File.ReadAllText(Path.Combine(root, "sub dir", "notes ü.txt")));
        Assert.Equal(0, new FileInfo(Path.Combine(root, "empty.txt")).Length);
        Assert.Equal("sub dir/notes ü.txt", new FileInfo(Path.Combine(root, "link")).LinkTarget);
        Assert.True(Directory.Exists(Path.Combine(root, "empty")));
    }

    [Fact]
    public void A_flipped_byte_in_any_object_is_survived()
    {
        var target = new RestoreTarget();
        foreach (var seed in target.Seeds())
        {
            for (int at = 1; at < seed.Length; at += Math.Max(1, seed.Length / 16))
            {
                var damaged = (byte[])seed.Clone();
                damaged[at] ^= 0x40;
                var ex = Record.Exception(() => target.Run(damaged));
                Assert.True(ex is null, $"object {seed[0]}, byte {at}: {ex}");
            }
        }
    }
}
