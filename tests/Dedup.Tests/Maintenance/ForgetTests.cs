using Dedup.Format;
using Dedup.Maintenance;
using Xunit;

namespace Dedup.Tests.Maintenance;

public sealed class ForgetTests
{
    private static SnapshotInfo Info(DateTimeOffset time, string host = "web") =>
        new() { Time = time, Host = host, Paths = ["/srv"], Tree = [ObjectId.HashOf([1]).ToString()] };

    [Fact]
    public async Task Future_dated_snapshots_cannot_push_out_real_ones()
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        await Dedup.Repository.Keys.KeyManager.AddAsync(admin, "web"u8.ToArray(), Dedup.Repository.Keys.KeyKind.WriteOnly, "web", "u", new Dedup.Crypto.Argon2Parameters(64, 1, 1));
        // The host writes with its write-only key; a full key's claimed times are trusted, a writer's are not.
        var repo = await s.OpenAsync("web");
        var real = new List<string>();
        for (int day = 0; day < 7; day++)
        {
            real.Add((await repo.Snapshots.SaveAsync(Info(s.Clock.Now))).ToString());
            s.Clock.Advance(TimeSpan.FromDays(1));
        }
        // A compromised client uploads ten fakes today, each claiming a different future day.
        for (int i = 1; i <= 10; i++) await repo.Snapshots.SaveAsync(Info(s.Clock.Now.AddDays(365 + i)));

        var result = await Forget.RunAsync(admin, s.Storage, new ForgetOptions { Policy = new RetentionPolicy { Daily = 7 }, DryRun = true });
        var items = result.Groups.SelectMany(g => g.Items).ToList();
        // Every fake is judged by the storage's time (today), so together they fill one daily slot, not seven.
        Assert.All(items.Where(i => i.ClaimedTime > s.Clock.Now.AddDays(300)), i => Assert.NotNull(i.Warning));
        var keptReal = items.Where(i => i.Keep && real.Contains(i.Id)).Count();
        Assert.True(keptReal >= 6, $"only {keptReal} of the real daily snapshots were kept");
    }

    /// <summary>
    /// A put-only host deduplicates against the snapshot it knows it stored last; S3 records storage times to the second,
    /// so two snapshots of one path set stored in the same second cannot be ordered: forget keeps both.
    /// </summary>
    [Fact]
    public async Task A_writers_snapshots_stored_in_the_same_second_are_all_kept_as_its_newest()
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        await Dedup.Repository.Keys.KeyManager.AddAsync(admin, "web"u8.ToArray(), Dedup.Repository.Keys.KeyKind.WriteOnly, "web", "u", new Dedup.Crypto.Argon2Parameters(64, 1, 1));
        var repo = await s.OpenAsync("web");
        var older = await repo.Snapshots.SaveAsync(Info(s.Clock.Now));
        s.Clock.Advance(TimeSpan.FromHours(1));
        var first = await repo.Snapshots.SaveAsync(Info(s.Clock.Now));
        s.Clock.Advance(TimeSpan.FromMilliseconds(400));
        var second = await repo.Snapshots.SaveAsync(Info(s.Clock.Now) with { Tags = ["again"] });

        var result = await Forget.RunAsync(admin, s.Storage, new ForgetOptions { Policy = new RetentionPolicy { Last = 1 } });
        var left = (await admin.Snapshots.ListAsync()).Select(x => x.Id).ToHashSet();
        Assert.True(left.SetEquals([first, second]), $"kept {left.Count}: {string.Join(", ", left)}");
        Assert.DoesNotContain(older, left);
        Assert.Equal(1, result.Removed);
    }

    [Fact]
    public async Task Keep_last_removes_the_rest_and_dry_run_removes_nothing()
    {
        await using var s = await Scenario.CreateAsync();
        var repo = await s.OpenAsync();
        for (int i = 0; i < 5; i++)
        {
            await repo.Snapshots.SaveAsync(Info(s.Clock.Now));
            s.Clock.Advance(TimeSpan.FromHours(1));
        }
        var dry = await Forget.RunAsync(repo, s.Storage, new ForgetOptions { Policy = new RetentionPolicy { Last = 2 }, DryRun = true });
        Assert.Equal(0, dry.Removed);
        Assert.Equal(3, dry.Groups.Single().Items.Count(i => !i.Keep));
        Assert.Equal(5, (await repo.Snapshots.ListAsync()).Count);

        var real = await Forget.RunAsync(repo, s.Storage, new ForgetOptions { Policy = new RetentionPolicy { Last = 2 } });
        Assert.Equal(3, real.Removed);
        Assert.Equal(2, (await repo.Snapshots.ListAsync()).Count);
    }

    [Fact]
    public async Task An_empty_policy_is_refused()
    {
        await using var s = await Scenario.CreateAsync();
        var repo = await s.OpenAsync();
        await repo.Snapshots.SaveAsync(Info(s.Clock.Now));
        await Assert.ThrowsAsync<ArgumentException>(() => Forget.RunAsync(repo, s.Storage, new ForgetOptions()));
    }

    [Theory]
    [InlineData("48h", 48 * 3600)]
    [InlineData("7d", 7 * 86400)]
    [InlineData("2w", 14 * 86400)]
    [InlineData("1d12h", 36 * 3600)]
    [InlineData("0", 0)]
    public void Durations_parse(string text, long seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), RetentionPolicy.ParseDuration(text));

    [Theory]
    [InlineData("")]
    [InlineData("h")]
    [InlineData("12")]
    [InlineData("3x")]
    public void Bad_durations_are_rejected(string text) => Assert.Throws<FormatException>(() => RetentionPolicy.ParseDuration(text));

    [Fact]
    public void Daily_buckets_keep_the_newest_of_each_day()
    {
        var t0 = new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);
        var candidates = new[]
        {
            new RetentionPolicy.Candidate("a", t0, []),
            new RetentionPolicy.Candidate("b", t0.AddHours(2), []),
            new RetentionPolicy.Candidate("c", t0.AddDays(1), []),
            new RetentionPolicy.Candidate("d", t0.AddDays(2), ["keep"]),
        };
        var decisions = new RetentionPolicy { Daily = 2, KeepTags = ["keep"] }.Apply(candidates).ToDictionary(d => d.Id);
        Assert.True(decisions["d"].Keep);
        Assert.True(decisions["c"].Keep);
        Assert.False(decisions["b"].Keep);
        Assert.False(decisions["a"].Keep);
        Assert.Contains("tag", decisions["d"].Reasons);
    }
}
