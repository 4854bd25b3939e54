using System.Runtime.CompilerServices;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Check;
using Dedup.Archiver.Restore;
using Dedup.Format;
using Dedup.Storage;
using Dedup.TestKit;
using Xunit;

namespace Dedup.Tests.Check;

/// <summary>
/// check --read-data with a retrieval (<see cref="CheckOptions.ReadAsThawed"/>): exactly the archived packs it reads are
/// requested, hot packs are verified at once and archived ones as they thaw, each once; damage in an archived pack is
/// still damage once it thawed. In memory, on a clock on which waiting costs nothing.
/// </summary>
public sealed class CheckRetrievalTests
{
    private sealed class Cold : IAsyncDisposable
    {
        public required TestRepo Repo { get; init; }
        public required TempDir Source { get; init; }
        public required SkippingClock Clock { get; init; }
        public required InMemoryArchive Archive { get; init; }
        public required IReadOnlyList<string> DataPacks { get; init; }
        public required IReadOnlySet<string> Archived { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Repo.DisposeAsync();
            Source.Dispose();
        }
    }

    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A backup whose data packs are all archived but one; each thaws 1, 3 or 5 hours after its request.</summary>
    private static async Task<Cold> ColdRepoAsync()
    {
        var repo = await TestRepo.InMemoryAsync();
        var src = new TempDir();
        DataGen.FileTree(src.Path, 15, 6_000_000);
        await Dedup.Archiver.Backup.Archiver.RunAsync(repo.Repo, new BackupOptions { Paths = [src.Path], Workers = 2 }, new BackupProgress());
        var dataPacks = repo.Repo.Index.Blobs().Where(b => b.Location.Type == BlobType.Data).Select(b => Layout.Pack(b.Location.PackId))
            .Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.True(dataPacks.Count >= 4, $"{dataPacks.Count} data packs");
        var clock = new SkippingClock(Start);
        var archive = new InMemoryArchive(repo.Storage, clock);
        var archived = dataPacks.Skip(1).ToHashSet(StringComparer.Ordinal);
        archive.Archive(archived);
        archive.ThawAfter = name => TimeSpan.FromHours(1 + 2 * (dataPacks.IndexOf(name) % 3));
        return new Cold { Repo = repo, Source = src, Clock = clock, Archive = archive, DataPacks = dataPacks, Archived = archived };
    }

    /// <summary>What the CLI does: plan (HEAD each), request the archived ones, then hand out packs as polls find them readable.</summary>
    private static async IAsyncEnumerable<IReadOnlyList<ObjectId>> ThawAsync(Cold c, IReadOnlyCollection<ObjectId> packs, List<IReadOnlyCollection<ObjectId>> given,
        List<int> batches, [EnumeratorCancellation] CancellationToken ct)
    {
        given.Add(packs);
        var plan = await Retrieval.PlanAsync(c.Archive, packs, 2, ct);
        await Retrieval.RequestAsync(c.Archive, plan, RetrievalTier.Standard, 7, 2, ct);
        await foreach (var batch in Retrieval.ThawAsync(c.Archive, plan, RetrievalTier.Standard, 7, c.Clock, Retrieval.PollInterval(RetrievalTier.Standard), 2, (_, _) => { }, ct))
        {
            batches.Add(batch.Count);
            // A batch repeated must not make check read a pack twice.
            yield return [.. batch.Select(p => p.Pack), .. batch.Select(p => p.Pack)];
        }
    }

    private static async Task<(CheckResult Result, List<IReadOnlyCollection<ObjectId>> Given, List<int> Batches)> CheckAsync(Cold c, PackSubset? subset)
    {
        var given = new List<IReadOnlyCollection<ObjectId>>();
        var batches = new List<int>();
        await using var repo = await Dedup.Repository.Repository.OpenAsync(c.Archive, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password));
        var result = await Checker.RunAsync(repo, new CheckOptions
        {
            ReadData = true, ReadDataSubset = subset, ReadAsThawed = (packs, ct) => ThawAsync(c, packs, given, batches, ct),
        });
        return (result, given, batches);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Exactly_the_archived_packs_it_reads_are_requested_and_each_pack_is_verified_once_as_it_thaws(bool subsetOf2)
    {
        await using var c = await ColdRepoAsync();
        // The half (of --read-data-subset n/2) that holds a given archived pack: pack IDs are random, so a fixed half may hold none.
        var archivedOne = c.Archived.Order(StringComparer.Ordinal).First();
        var subset = subsetOf2 ? new PackSubset.Group(PackSubset.InGroup(Id(archivedOne), 1, 2) ? 1 : 2, 2) : null;
        bool Reads(string pack) => subset is not PackSubset.Group g || PackSubset.InGroup(Id(pack), g.N, g.T);

        var (result, given, batches) = await CheckAsync(c, subset);

        Assert.True(result.IsOk, string.Join("\n", result.Problems));
        // The structure check's "archived, header not read" warnings, made before the thaw, are withdrawn for the packs
        // read since; those stay for archived packs of other groups, which this run does not read.
        Assert.Equal(c.Archived.Where(p => !Reads(p)).Order(StringComparer.Ordinal), result.Problems.Select(p => p.ObjectName).Order(StringComparer.Ordinal));
        Assert.All(result.Problems, p => Assert.True(p.IsWarning && p.Description.Contains("its header was not read", StringComparison.Ordinal), p.ToString()));
        var stored = (await c.Repo.ListAsync("data/")).Where(n => Reads(n)).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(stored.Order(StringComparer.Ordinal), Assert.Single(given).Select(Layout.Pack).Order(StringComparer.Ordinal));
        var expected = c.Archived.Where(Reads).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Order(StringComparer.Ordinal), c.Archive.Requested.Order(StringComparer.Ordinal));
        Assert.All(expected, p => Assert.Equal(1, c.Archive.RequestCount(p)));
        // Every data pack it reads was read whole once, those of other groups never.
        foreach (var pack in c.DataPacks) Assert.Equal(Reads(pack) ? 1 : 0, c.Archive.Reads(pack));
        Assert.Equal(stored.Count, result.PacksRead);
        // The hot packs came at once; the archived ones in one poll per thaw time (1, 3 or 5 hours, polled every 20 minutes),
        // and the wait was on the clock, hours of it.
        Assert.Equal(stored.Count - expected.Count, batches[0]);
        Assert.Equal(expected.Select(c.Archive.ThawAfter).Distinct().Count(), batches.Skip(1).Count(b => b > 0));
        Assert.True(c.Clock.GetUtcNow() - Start >= TimeSpan.FromHours(1), $"clock moved {c.Clock.GetUtcNow() - Start}");
    }

    [Fact]
    public async Task A_damaged_archived_pack_is_damage_once_it_thawed_and_the_others_verify()
    {
        await using var c = await ColdRepoAsync();
        var damaged = c.Archived.Order(StringComparer.Ordinal).First();
        var bytes = await c.Repo.ReadObjectAsync(damaged);
        bytes[bytes.Length / 3] ^= 0x01;
        await c.Repo.ReplaceObjectAsync(damaged, bytes);

        var (result, _, _) = await CheckAsync(c, null);

        var error = Assert.Single(result.Errors, e => e.ObjectName == damaged && e.AffectedFiles.Count > 0);
        Assert.DoesNotContain("archived", error.Description, StringComparison.Ordinal);
        Assert.All(result.Errors, e => Assert.Equal(damaged, e.ObjectName));
        Assert.DoesNotContain(result.Problems, p => p.Description.StartsWith("archived", StringComparison.Ordinal));
        Assert.Contains(damaged, c.Archive.Requested);
        Assert.All(c.DataPacks, p => Assert.Equal(1, c.Archive.Reads(p)));
    }

    [Fact]
    public async Task Without_a_retrieval_archived_packs_are_warnings_and_nothing_is_requested()
    {
        await using var c = await ColdRepoAsync();
        await using var repo = await Dedup.Repository.Repository.OpenAsync(c.Archive, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password));
        var result = await Checker.RunAsync(repo, new CheckOptions { ReadData = true });
        Assert.True(result.IsOk, string.Join("\n", result.Problems));
        Assert.Equal(c.Archived.Order(StringComparer.Ordinal),
            result.Warnings.Where(w => w.Description.Contains("not read, so not verified", StringComparison.Ordinal)).Select(w => w.ObjectName).Order(StringComparer.Ordinal));
        Assert.Empty(c.Archive.Requested);
    }

    private static ObjectId Id(string packName)
    {
        Assert.True(Layout.TryParseId(packName, out var id));
        return id;
    }
}
