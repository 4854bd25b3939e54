using System.Diagnostics;
using Dedup.Format;
using Dedup.Repository.Index;

namespace Dedup.Benchmarks;

/// <summary>
/// Console mode 'index-memory [blobs]': the in-memory index cost per blob at scale (target ≤ 64 B/blob) and how long
/// loading takes. Builds packs of 16 blobs (1 MiB chunks in 16 MiB packs), then measures the managed heap growth of
/// IndexTable.AddPack over all of them, ApproximateBytes, and lookups per second.
/// </summary>
public static class IndexMemory
{
    public static void Run(int blobs)
    {
        const int perPack = 16;
        Console.WriteLine($"index-memory: {blobs:N0} blobs in packs of {perPack}");
        var sw = Stopwatch.StartNew();
        // The input stays alive (and outside the measured delta): only the growth across AddPack is counted.
        var ids = TestData.RandomIds(blobs, 31);
        Console.WriteLine($"  generated IDs in {sw.Elapsed.TotalSeconds:F2} s");
        var packs = TestData.Packs(ids, perPack, 32);
        Console.WriteLine($"  generated {packs.Count:N0} index packs in {sw.Elapsed.TotalSeconds:F2} s");

        long before = GC.GetTotalMemory(forceFullCollection: true);
        var table = new IndexTable();
        sw.Restart();
        foreach (var p in packs) table.AddPack(p, Dedup.Format.DomainId.Repository);
        double load = sw.Elapsed.TotalSeconds;
        long after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(packs);
        long delta = after - before;
        // The PackInfo objects hold the wrapped keys: count them apart from the per-blob part.
        Console.WriteLine($"  AddPack of all: {load:F2} s ({blobs / load / 1e6:F2} M blobs/s)");
        Console.WriteLine($"  heap growth: {delta / (double)blobs:F1} B/blob ({delta / 1048576.0:F0} MiB) incl. per-pack records");
        Console.WriteLine($"  ApproximateBytes: {table.ApproximateBytes / (double)blobs:F1} B/blob (entries + slots only)");
        Console.WriteLine($"  per-pack overhead: {(delta - table.ApproximateBytes) / (double)packs.Count:F0} B/pack");

        var rng = new Random(33);
        int lookups = 2_000_000;
        sw.Restart();
        int found = 0;
        for (int i = 0; i < lookups; i++)
            if (table.TryGet(ids[rng.Next(ids.Length)], Dedup.Format.DomainId.Repository, out _)) found++;
        double t = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"  TryGet (present, random): {t / lookups * 1e9:F0} ns/lookup ({found} found)");
        var absent = TestData.RandomIds(lookups, 34);
        sw.Restart();
        found = 0;
        foreach (var id in absent)
            if (table.Contains(id, Dedup.Format.DomainId.Repository)) found++;
        t = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"  Contains (absent): {t / lookups * 1e9:F0} ns/lookup ({found} found)");
        Console.WriteLine($"  process peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
        GC.KeepAlive(table);
    }
}
