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
        var blobs = seeds.Distinct().Select(BlobFor).GroupBy(b => keys.BlobId(b)).Select(g => (Id: g.Key, Data: g.First())).ToList();
        var table = new IndexTable();
        using (var writer = new PackWriter(BlobType.Data, keys.ReadPublicKey, 1 << 20))
        {
            foreach (var b in blobs) writer.Add(b.Id, b.Data);
            using var pack = writer.Finish();
            await t.Storage.PutAsync(Layout.Pack(pack.Id), pack.Bytes);
            table.AddPack(pack.Index);
            // The header read back from storage agrees with what the writer indexed.
            var header = await PackHeaderReader.ReadAsync(t.Storage, pack.Id, pack.Bytes.Length, keys.ReadKey!);
            Assert.Empty(PackVerifier.Compare(header, pack.Index));
            Assert.True(PackVerifier.Verify(pack.Bytes.Span, pack.Id, pack.Index, keys).IsIntact);
        }
        using var reader = new BlobReader(t.Storage, table, keys);
        foreach (var b in blobs)
        {
            using var got = await reader.ReadAsync(b.Id);
            Assert.True(got.Span.SequenceEqual(b.Data));
        }
    }

    [Fact]
    public void Compressible_blobs_are_stored_smaller_and_random_ones_not_much_larger()
    {
        using var keys = FuzzlessKeys();
        var text = DataGen.CompressibleText(1, 200_000);
        var random = DataGen.RandomBytes(2, 200_000);
        using var writer = new PackWriter(BlobType.Data, keys.Keys.ReadPublicKey, 1 << 20);
        Assert.True(writer.Add(keys.Keys.BlobId(text), text) < text.Length / 2);
        Assert.Equal(random.Length + 16, writer.Add(keys.Keys.BlobId(random), random));
    }

    private static Holder FuzzlessKeys() => new(Dedup.Fuzz.FuzzKeys.Keys());

    private sealed class Holder(Dedup.Repository.Keys.RepositoryKeys keys) : IDisposable
    {
        public Dedup.Repository.Keys.RepositoryKeys Keys { get; } = keys;
        public void Dispose() => Keys.Dispose();
    }

    /// <summary>Model-based: random adds (including duplicate blobs and repeated packs) and lookups agree with a Dictionary.</summary>
    [Property(Arbitrary = [typeof(DedupArbitraries)], MaxTest = 60)]
    public bool IndexTable_agrees_with_a_dictionary_model(IndexPack[] packs, ObjectId[] probes)
    {
        var table = new IndexTable();
        var model = new Dictionary<ObjectId, (ObjectId Pack, IndexBlob Blob)>();
        var all = packs.Concat(packs.Take(2)).ToArray(); // re-adding a pack is a no-op
        foreach (var p in all)
        {
            bool seen = table.ContainsPack(p.PackId);
            table.AddPack(p);
            if (seen) continue;
            foreach (var b in p.Blobs) model.TryAdd(b.Id, (p.PackId, b));
        }
        if (table.Count != model.Count) return false;
        foreach (var (id, (pack, blob)) in model)
        {
            if (!table.TryGet(id, out var loc) || loc.PackId != pack || loc.Offset != blob.Offset || loc.StoredLength != blob.StoredLength || loc.RawLength != blob.RawLength)
                return false;
        }
        return probes.Concat(model.Keys.Take(3)).All(id => table.Contains(id) == model.ContainsKey(id));
    }
}
