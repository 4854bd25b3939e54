using Dedup.Archiver.Check;
using Dedup.Format;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dedup.Tests.Check;

/// <summary>check --read-data-subset: its syntax, and which packs each form reads.</summary>
public class PackSubsetTests
{
    [Theory]
    [InlineData("1/7", "group 1/7")]
    [InlineData("7/7", "group 7/7")]
    [InlineData("1/1", "group 1/1")]
    [InlineData("10%", "10% of the packs, chosen at random")]
    [InlineData("2.5%", "2.5% of the packs, chosen at random")]
    [InlineData("100%", "100% of the packs, chosen at random")]
    [InlineData("500M", "about 524288000 bytes of packs, chosen at random")]
    [InlineData("1G", "about 1073741824 bytes of packs, chosen at random")]
    [InlineData("4096", "about 4096 bytes of packs, chosen at random")]
    public void Parses_the_three_forms(string text, string described) => Assert.Equal(described, PackSubset.Parse(text).ToString());

    [Theory]
    [InlineData("0/7")]
    [InlineData("8/7")]
    [InlineData("1/0")]
    [InlineData("a/7")]
    [InlineData("1/")]
    [InlineData("0%")]
    [InlineData("101%")]
    [InlineData("-5%")]
    [InlineData("0")]
    [InlineData("lots")]
    [InlineData("")]
    public void Refuses_anything_else_in_one_line_naming_the_text(string text)
    {
        var e = Assert.Throws<FormatException>(() => PackSubset.Parse(text));
        Assert.Contains($"'{text}'", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static Dictionary<ObjectId, long> Packs(int count, int seed)
    {
        var random = new Random(seed);
        var packs = new Dictionary<ObjectId, long>();
        while (packs.Count < count)
        {
            var id = new byte[ObjectId.Size];
            random.NextBytes(id);
            packs[new ObjectId(id)] = random.Next(1, 1000);
        }
        return packs;
    }

    /// <summary>The runs 1/t … t/t read every pack exactly once, for any set of packs and any t.</summary>
    [Property(MaxTest = 100)]
    public Property The_t_groups_cover_every_pack_exactly_once() =>
        Prop.ForAll(Gen.Choose(0, 300).ToArbitrary(), Gen.Choose(1, 40).ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (count, t, seed) =>
        {
            var packs = Packs(count, seed);
            var read = Enumerable.Range(1, t).SelectMany(n => new PackSubset.Group(n, t).Select(packs, new Random(seed)).Select(kv => kv.Key)).ToList();
            return (read.Count == packs.Count && read.ToHashSet().SetEquals(packs.Keys)).Label($"{count} packs, t={t}: {read.Count} reads");
        });

    [Fact]
    public void A_group_is_the_same_whatever_the_random_and_the_listing_order()
    {
        var packs = Packs(200, 1);
        var reversed = packs.Reverse().ToDictionary();
        var a = new PackSubset.Group(3, 5).Select(packs, new Random(1)).Select(kv => kv.Key).Order().ToList();
        var b = new PackSubset.Group(3, 5).Select(reversed, new Random(2)).Select(kv => kv.Key).Order().ToList();
        Assert.Equal(a, b);
        Assert.InRange(a.Count, 20, 60); // about a fifth of 200: the groups are spread by ID
    }

    [Property(MaxTest = 100)]
    public Property A_percentage_reads_that_share_rounded_up_of_distinct_packs() =>
        Prop.ForAll(Gen.Choose(0, 300).ToArbitrary(), Gen.Choose(1, 100).ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (count, percent, seed) =>
        {
            var packs = Packs(count, seed);
            var read = new PackSubset.Fraction(percent).Select(packs, new Random(seed)).Select(kv => kv.Key).ToList();
            var expected = (int)Math.Ceiling(count * percent / 100.0);
            return (read.Count == expected && read.Distinct().Count() == expected && read.All(packs.ContainsKey)).Label($"{count} packs, {percent}%: {read.Count}");
        });

    [Property(MaxTest = 100)]
    public Property A_size_reads_packs_until_it_is_reached_and_no_more() =>
        Prop.ForAll(Gen.Choose(0, 300).ToArbitrary(), Gen.Choose(1, 100_000).ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (count, limit, seed) =>
        {
            var packs = Packs(count, seed);
            var read = new PackSubset.Size(limit).Select(packs, new Random(seed)).ToList();
            long total = read.Sum(kv => kv.Value);
            long withoutLast = total - (read.Count > 0 ? read[^1].Value : 0);
            bool reached = total >= limit || read.Count == packs.Count;
            return (reached && withoutLast < limit && read.Select(kv => kv.Key).Distinct().Count() == read.Count).Label($"{count} packs, limit {limit}: {read.Count} read, {total} bytes");
        });

    [Fact]
    public void Random_subsets_differ_between_runs_but_repeat_with_the_same_seed()
    {
        var packs = Packs(100, 7);
        var one = new PackSubset.Fraction(10).Select(packs, new Random(1)).Select(kv => kv.Key).ToList();
        var again = new PackSubset.Fraction(10).Select(packs.Reverse().ToDictionary(), new Random(1)).Select(kv => kv.Key).ToList();
        var other = new PackSubset.Fraction(10).Select(packs, new Random(2)).Select(kv => kv.Key).ToList();
        Assert.Equal(one, again);
        Assert.NotEqual(one.Order(), other.Order());
    }
}
