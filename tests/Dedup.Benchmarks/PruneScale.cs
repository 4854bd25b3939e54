using System.Diagnostics;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Maintenance.Prune;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Benchmarks;

/// <summary>
/// Console modes 'prune-scale make DIR [blobs]' and 'prune-scale plan DIR': prune's planning at scale, in two processes
/// so that /usr/bin/time's peak RSS is the planner's alone. 'make' writes a repository into DIR whose index claims
/// <c>blobs</c> data blobs (1 MiB chunks, 16 per pack) and one snapshot whose trees refer to them: the first third of
/// the packs are a third unused (every third blob), the second third wholly unused, the last third fully used — the
/// state after forgetting snapshots. The data packs themselves are not written (only their names and sizes, in
/// DIR/synthetic-packs): the plan lists data/ and reads the index and the trees, never a data pack. 'plan' opens it and
/// makes the plan (a dry run), printing the time of each part and the plan's totals.
/// </summary>
public static class PruneScale
{
    private const int PerPack = 16;
    private static readonly byte[] Password = "prune-scale"u8.ToArray();

    public static async Task RunAsync(string[] args)
    {
        if (args.Length >= 3 && args[1] == "make") await MakeAsync(args[2], args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 10_000_000);
        else if (args.Length >= 3 && args[1] == "plan") await PlanAsync(args[2]);
        else Console.Error.WriteLine("usage: prune-scale make DIR [blobs] | prune-scale plan DIR");
    }

    private static async Task MakeAsync(string dir, int blobs)
    {
        var sw = Stopwatch.StartNew();
        var storage = new LocalStorage(Path.Join(dir, "repo"));
        await Repo.InitAsync(storage, Password, new InitOptions { Kdf = new Argon2Parameters(64, 1, 1) });
        await using var repo = await Repo.OpenAsync(storage, Password);
        var ids = TestData.RandomIds(blobs, 41);
        var packs = TestData.Packs(ids, PerPack, 42);
        var keys = repo.Keys.For(DomainId.Repository);
        foreach (var chunk in packs.Chunk(4096))
        {
            var bytes = IndexFile.Seal(chunk, keys, repo.Keys);
            await storage.PutAsync(Layout.Index(ObjectId.HashOf(bytes)), bytes);
        }
        using (var list = new BinaryWriter(File.Create(Path.Join(dir, "synthetic-packs"))))
            foreach (var p in packs)
            {
                list.Write(p.PackId.ToString());
                list.Write(p.Blobs.Sum(b => (long)b.StoredLength) + 200);
            }
        Console.WriteLine($"  index of {blobs:N0} blobs in {packs.Count:N0} packs written in {sw.Elapsed.TotalSeconds:F1} s");

        // The snapshot: files of 100 blobs, 1,000 files per directory.
        int third = packs.Count / 3;
        var used = new List<ObjectId>(blobs);
        for (int p = 0; p < packs.Count; p++)
            for (int j = 0; j < packs[p].Blobs.Length; j++)
                if ((p < third && j % 3 != 0) || p >= 2 * third) used.Add(packs[p].Blobs[j].Id);
        var writer = repo.StartWriting(DomainId.Repository);
        var dirs = new List<TreeNode>();
        foreach (var dirChunk in used.Chunk(100 * 1000))
        {
            var files = dirChunk.Chunk(100).Select((c, i) => new TreeNode { Name = $"f{i:D4}", Type = NodeType.File, Content = c, Size = c.Length << 20 }).ToList();
            var tree = await writer.SaveAsync(BlobType.Tree, TreeCodec.Encode(files));
            dirs.Add(new TreeNode { Name = $"d{dirs.Count:D5}", Type = NodeType.Directory, Content = [tree] });
        }
        var root = await writer.SaveAsync(BlobType.Tree, TreeCodec.Encode(dirs));
        await writer.FlushAsync();
        await writer.DisposeAsync();
        await repo.Snapshots.SaveAsync(new SnapshotInfo { Time = DateTimeOffset.UtcNow, Host = "scale", Paths = ["/scale"], Tree = [root.ToString()] });
        Console.WriteLine($"  snapshot using {used.Count:N0} blobs in {dirs.Count:N0} directories written in {sw.Elapsed.TotalSeconds:F1} s");
    }

    private static async Task PlanAsync(string dir)
    {
        var sw = Stopwatch.StartNew();
        var storage = new WithSyntheticPacks(new LocalStorage(Path.Join(dir, "repo")), Path.Join(dir, "synthetic-packs"));
        await using var repo = await Repo.OpenAsync(storage, Password);
        Console.WriteLine($"  opened in {sw.Elapsed.TotalSeconds:F1} s");
        sw.Restart();
        var plan = await Pruner.PlanAsync(repo, storage, new PruneOptions { DryRun = true });
        double seconds = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"  plan made in {seconds:F1} s: {plan.PacksStored:N0} packs, {plan.BytesStored / (1L << 30):N0} GiB stored, "
                          + $"{plan.BytesUsed / (1L << 30):N0} GiB used, {plan.BytesUnused / (1L << 30):N0} GiB unused; "
                          + $"repack {plan.Count(PackAction.Repack):N0}, mark {plan.Count(PackAction.Mark):N0}, keep {plan.Count(PackAction.Keep):N0}; "
                          + $"{plan.BytesUnusedAfter / (1L << 30):N0} GiB unused after (limit {plan.UnusedLimit / (1L << 30):N0} GiB)");
        Console.WriteLine($"  index table: {repo.Index.Count:N0} entries, ~{repo.Index.ApproximateBytes / 1048576.0:F0} MiB; managed heap now {GC.GetTotalMemory(false) / 1048576.0:F0} MiB; "
                          + $"process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
    }

    /// <summary>The repository's store, with data/ listing the synthetic packs as well (their names and sizes only).</summary>
    private sealed class WithSyntheticPacks(IMaintenanceStorage inner, string list) : IMaintenanceStorage
    {
        public string Location => inner.Location;
        public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken ct = default) => inner.PutAsync(name, data, ct);
        public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken ct = default) => inner.OpenReadAsync(name, offset, length, ct);
        public Task<StoredObject?> StatAsync(string name, CancellationToken ct = default) => inner.StatAsync(name, ct);
        public Task DeleteAsync(string name, CancellationToken ct = default) => throw new InvalidOperationException("the scale run only plans");
        public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken ct = default) => Task.FromResult(0);

        public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
        {
            await foreach (var o in inner.ListAsync(prefix, ct)) yield return o;
            if (!Layout.DataPrefix.StartsWith(prefix, StringComparison.Ordinal)) yield break;
            var stamp = DateTimeOffset.UtcNow.AddDays(-30);
            using var r = new BinaryReader(File.OpenRead(list));
            while (r.BaseStream.Position < r.BaseStream.Length)
            {
                var id = ObjectId.Parse(r.ReadString());
                yield return new StoredObject(Layout.Pack(id), r.ReadInt64(), stamp);
            }
        }
    }
}
