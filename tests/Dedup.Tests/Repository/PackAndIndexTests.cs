using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Packs;
using Dedup.TestKit;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dedup.Tests.Repository;

public sealed class PackAndIndexTests
{
    /// <summary>Blobs of random size and kind (incompressible, text, empty) with the seed they came from.</summary>
    public static class BlobArbitraries
    {
        public static Arbitrary<int[]> Seeds() => Gen.Choose(1, 12).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 1_000_000), n)).ToArbitrary();
    }

    private static byte[] BlobFor(int seed) => (seed % 3) switch
    {
        0 => DataGen.RandomBytes(seed, seed % 40_000),
        1 => DataGen.CompressibleText(seed, seed % 100_000),
        _ => DataGen.Mixed(seed, seed % 70_000),
    };

    [Property(Arbitrary = [typeof(BlobArbitraries)], MaxTest = 15)]
    public void PackWriter_then_BlobReader_round_trips(int[] seeds)
    {
        PackWriterRoundTripAsync(seeds).GetAwaiter().GetResult();
    }

    private static async Task PackWriterRoundTripAsync(int[] seeds)
    {
        await using var t = await TestRepo.InMemoryAsync();
        var keys = t.Repo.Keys;
        var domain = keys.Own;
        var blobs = seeds.Distinct().Select(BlobFor).GroupBy(b => domain.BlobId(b)).Select(g => (Id: g.Key, Data: g.First())).ToList();
        var table = new IndexTable();
        using (var writer = new PackWriter(BlobType.Data, domain.Id, keys.ReadPublicKey, 1 << 20))
        {
            foreach (var b in blobs) writer.Add(b.Id, b.Data);
            using var pack = writer.Finish();
            await t.Storage.PutAsync(Layout.Pack(pack.Id), pack.Bytes);
            table.AddPack(pack.Index, domain.Id);
            // The header read back from storage agrees with what the writer indexed.
            var header = await PackHeaderReader.ReadAsync(t.Storage, pack.Id, pack.Bytes.Length, keys.ReadKey!);
            Assert.Empty(PackVerifier.Compare(header, pack.Index));
            Assert.Equal(domain.Id, header.Domain);
            Assert.True(PackVerifier.Verify(pack.Bytes.Span, pack.Id, pack.Index, domain.Id, keys).IsIntact);
        }
        using var reader = new BlobReader(t.Storage, table, keys);
        foreach (var b in blobs)
        {
            using var got = await reader.ReadAsync(b.Id, domain.Id);
            Assert.True(got.Span.SequenceEqual(b.Data));
        }
    }

    [Fact]
    public void Compressible_blobs_are_stored_smaller_and_random_ones_not_much_larger()
    {
        using var keys = FuzzlessKeys();
        var text = DataGen.CompressibleText(1, 200_000);
        var random = DataGen.RandomBytes(2, 200_000);
        using var writer = new PackWriter(BlobType.Data, keys.Keys.Own.Id, keys.Keys.ReadPublicKey, 1 << 20);
        Assert.True(writer.Add(keys.Keys.Own.BlobId(text), text) < text.Length / 2);
        Assert.Equal(random.Length + 16, writer.Add(keys.Keys.Own.BlobId(random), random));
    }

    private static Holder FuzzlessKeys() => new(Dedup.Fuzz.FuzzKeys.Keys());

    private sealed class Holder(Dedup.Repository.Keys.RepositoryKeys keys) : IDisposable
    {
        public Dedup.Repository.Keys.RepositoryKeys Keys { get; } = keys;
        public void Dispose() => Keys.Dispose();
    }

    /// <summary>
    /// Model-based: random claims in two domains (including the same blob in several packs, the same pack claimed twice
    /// with other contents, and identical claims repeated) agree with a model that keeps every distinct location.
    /// </summary>
    [Property(Arbitrary = [typeof(DedupArbitraries)], MaxTest = 60)]
    public bool IndexTable_keeps_every_distinct_claim(IndexPack[] packs, ObjectId[] probes) =>
        KeepsEveryDistinctClaim(new IndexTable(), packs, probes);

    /// <summary>The same model with every entry and slot in the table's temporary files (a resident budget of 0).</summary>
    [Property(Arbitrary = [typeof(DedupArbitraries)], MaxTest = 30)]
    public bool IndexTable_spilled_to_disk_keeps_every_distinct_claim(IndexPack[] packs, ObjectId[] probes)
    {
        using var table = new IndexTable(0);
        return KeepsEveryDistinctClaim(table, packs, probes) && (table.Count == 0 || table.SpilledBytes > 0);
    }

    private static bool KeepsEveryDistinctClaim(IndexTable table, IndexPack[] packs, ObjectId[] probes)
    {
        DomainId[] domains = [DomainId.Repository, new DomainId(Enumerable.Repeat((byte)7, DomainId.Size).ToArray())];
        var model = new Dictionary<(ObjectId, DomainId), HashSet<(ObjectId, long, int, int)>>();
        var claims = new HashSet<string>();
        int entries = 0;
        var all = packs.Select((p, i) => (Pack: p, Domain: domains[i % 2])).ToList();
        all.AddRange(all.Take(2)); // identical claims again: no new entries
        foreach (var (p, domain) in all)
        {
            table.AddPack(p, domain);
            var key = $"{p.PackId}/{domain}/{p.Type}/{Convert.ToHexString(p.WrappedKey)}/" + string.Join(",", p.Blobs.Select(b => $"{b.Id}:{b.Offset}:{b.StoredLength}:{b.RawLength}"));
            if (!claims.Add(key)) continue;
            entries += p.Blobs.Length;
            foreach (var b in p.Blobs)
            {
                if (!model.TryGetValue((b.Id, domain), out var set)) model[(b.Id, domain)] = set = [];
                set.Add((p.PackId, b.Offset, b.StoredLength, b.RawLength));
            }
        }
        if (table.Count != entries) return false;
        foreach (var ((id, domain), expected) in model)
        {
            var got = table.Locations(id, domain).Select(l => (l.PackId, l.Offset, l.StoredLength, l.RawLength)).ToHashSet();
            if (!got.SetEquals(expected)) return false;
        }
        return probes.Concat(model.Keys.Select(k => k.Item1).Take(3))
            .All(id => domains.All(d => table.Contains(id, d) == model.ContainsKey((id, d))));
    }
}
