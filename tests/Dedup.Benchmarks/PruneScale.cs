using System.Diagnostics;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Maintenance.Prune;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Packs;
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
/// makes the plan (a dry run), printing the time of each part and the plan's totals (with --phases, the live heap after each phase). 'check' runs the whole of
/// `dedup check` (without --read-data) on it: for that every synthetic pack has a real tail — its header sealed under a
/// data key wrapped to the repository's read key, as a writer seals it — kept in DIR/synthetic-tails and served from there, so
/// check's pack-header reads (two ranged reads per pack, an unwrap and an AES-GCM open) are the real work.
/// </summary>
public static class PruneScale
{
    private const int PerPack = 16;
    private static readonly byte[] Password = "prune-scale"u8.ToArray();

    public static async Task RunAsync(string[] args)
    {
        if (args.Length >= 3 && args[1] == "make") await MakeAsync(args[2], args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 10_000_000);
        else if (args.Length >= 3 && args[1] == "plan") await PlanAsync(args[2], args.Contains("--phases"));
        else if (args.Length >= 3 && args[1] == "check") await CheckAsync(args[2]);
        else if (args.Length >= 3 && args[1] == "run") await RunPruneAsync(args[2]);
        else Console.Error.WriteLine("usage: prune-scale make DIR [blobs] | prune-scale plan DIR [--phases] | prune-scale check DIR | prune-scale run DIR");
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
        // Real tails: each pack's wrapped key in its index entry is the one its tail carries. All packs share one data
        // key here (a writer draws a fresh one per pack; one ECDH wrap per pack would make 'make' take most of an hour):
        // check unwraps and opens every pack's header all the same, so its work is the real work.
        using (var list = new BinaryWriter(File.Create(Path.Join(dir, "synthetic-packs"))))
        using (var tails = File.Create(Path.Join(dir, "synthetic-tails")))
        {
            var dataKey = new byte[Aead.KeySize];
            System.Security.Cryptography.RandomNumberGenerator.Fill(dataKey);
            var wrapped = new byte[KeyWrap.WrappedSize];
            KeyWrap.Wrap(dataKey, repo.Keys.ReadPublicKey, wrapped);
            for (int p = 0; p < packs.Count; p++)
            {
                packs[p] = new IndexPack(packs[p].PackId, BlobType.Data, wrapped, packs[p].Blobs);
                var tail = SyntheticTail(packs[p], dataKey);
                long dataEnd = packs[p].Blobs.Sum(b => (long)b.StoredLength);
                list.Write(packs[p].PackId.ToString());
                list.Write(dataEnd + tail.Length);
                list.Write(tails.Position);
                list.Write(tail.Length);
                tails.Write(tail);
            }
        }
        foreach (var chunk in packs.Chunk(4096))
        {
            var bytes = IndexFile.Seal(chunk, keys, repo.Keys);
            await storage.PutAsync(Layout.Index(ObjectId.HashOf(bytes)), bytes);
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

    /// <param name="phases">Print the live managed heap after each phase of planning (a full GC each: slower, so not for the timed run).</param>
    private static async Task PlanAsync(string dir, bool phases)
    {
        var sw = Stopwatch.StartNew();
        var storage = new WithSyntheticPacks(new LocalStorage(Path.Join(dir, "repo")), dir);
        await using var repo = await Repo.OpenAsync(storage, Password);
        Console.WriteLine($"  opened in {sw.Elapsed.TotalSeconds:F1} s");
        sw.Restart();
        var log = phases ? new HeapAfterPhase(sw) : null;
        var plan = await Pruner.PlanAsync(repo, storage, new PruneOptions { DryRun = true, Log = log });
        double seconds = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"  plan made in {seconds:F1} s: {plan.PacksStored:N0} packs, {plan.BytesStored / (1L << 30):N0} GiB stored, "
                          + $"{plan.BytesUsed / (1L << 30):N0} GiB used, {plan.BytesUnused / (1L << 30):N0} GiB unused; "
                          + $"repack {plan.Count(PackAction.Repack):N0}, mark {plan.Count(PackAction.Mark):N0}, keep {plan.Count(PackAction.Keep):N0}; "
                          + $"{plan.BytesUnusedAfter / (1L << 30):N0} GiB unused after (limit {plan.UnusedLimit / (1L << 30):N0} GiB)");
        Console.WriteLine($"  index table: {repo.Index.Count:N0} entries, ~{repo.Index.ApproximateBytes / 1048576.0:F0} MiB, {repo.Index.SpilledBytes / 1048576.0:F0} MiB of it spilled to temporary files; managed heap now {GC.GetTotalMemory(false) / 1048576.0:F0} MiB; "
                          + $"process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
    }

    /// <summary>Prints, as each phase ends, the heap that is still reachable then (the garbage collected first), and the process's peak so far.</summary>
    private sealed class HeapAfterPhase(Stopwatch clock) : IProgress<string>
    {
        private long _last = GC.GetTotalMemory(true);

        public void Report(string value)
        {
            long now = GC.GetTotalMemory(true);
            Console.WriteLine($"  {clock.Elapsed.TotalSeconds,6:F1} s {value}: heap {now / 1048576.0:F0} MiB ({(now - _last) / 1048576.0:+0;-0} MiB), "
                              + $"peak working set so far {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
            _last = now;
        }
    }

    private static async Task CheckAsync(string dir)
    {
        var sw = Stopwatch.StartNew();
        long before = GC.GetTotalMemory(true);
        var storage = new WithSyntheticPacks(new LocalStorage(Path.Join(dir, "repo")), dir);
        Console.WriteLine($"  synthetic pack table: {(GC.GetTotalMemory(true) - before) / 1048576.0:F0} MiB of the heap (the benchmark's, not check's)");
        await using var repo = await Repo.OpenAsync(storage, Password);
        Console.WriteLine($"  opened in {sw.Elapsed.TotalSeconds:F1} s");
        sw.Restart();
        var result = await Dedup.Archiver.Check.Checker.RunAsync(repo, new Dedup.Archiver.Check.CheckOptions
        {
            Log = new Progress<string>(phase => Console.WriteLine($"  {sw.Elapsed.TotalSeconds,6:F1} s: {phase}")),
        });
        Console.WriteLine($"  check done in {sw.Elapsed.TotalSeconds:F1} s: {result.PacksChecked:N0} packs, {result.BlobsChecked:N0} trees, "
                          + $"{result.SnapshotsChecked} snapshot(s), {result.Problems.Count} problem(s){(result.Problems.Count > 0 ? ": " + result.Problems[0] : "")}; "
                          + $"synthetic tails served {storage.TailReads:N0}; process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
        if (result.Problems.Count > 0 || storage.TailReads == 0) Environment.ExitCode = 1;
    }

    /// <summary>
    /// 'prune-scale run DIR': executes prune on the synthetic repository in two runs, as an admin would: phase 1 (grace
    /// 48 h) plans and writes the mark; phase 2 (grace 0, so that mark has expired) plans again, compacts the index and
    /// deletes the marked packs. The budget is unlimited, so nothing is repacked (the synthetic packs' blob bytes are
    /// zeros and could not be): the wholly unused third of the packs is marked and deleted, the partly used third stays.
    /// A fresh open afterwards must find exactly the claims and blobs of the packs that stay, no mark, and none of the
    /// deleted packs listed; exit code 1 otherwise. It deletes the unused packs' claims for good: run it on a copy of
    /// the directory 'make' wrote (deleted synthetic packs are only dropped from this process's listing).
    /// </summary>
    private static async Task RunPruneAsync(string dir)
    {
        var storage = new WithSyntheticPacks(new LocalStorage(Path.Join(dir, "repo")), dir);
        using var sampler = new PeakSampler();
        var budget = UnusedBudget.Percent(100);
        await MarkAsync(storage, budget, sampler);
        GC.Collect(); // phase 1's repository and plan are garbage now: phase 2's figures are its own, as in a second run

        var sw = Stopwatch.StartNew();
        await using var repo = await Repo.OpenAsync(storage, Password);
        var deleting = await Pruner.PlanAsync(repo, storage, new PruneOptions { MaxUnused = budget, Grace = TimeSpan.Zero });
        var doomed = deleting.Packs.Where(p => p.DeletedThisRun).Select(p => p.Pack).ToHashSet();
        var (claimsAfter, blobsAfter) = WhatStays(repo.Index, doomed);
        Console.WriteLine($"  phase 2 plan: {sw.Elapsed.TotalSeconds:F1} s, {sampler.TakePhase()}; delete {doomed.Count:N0} packs");
        sw.Restart();
        storage.ArmFirstIndexPut(() => Console.WriteLine($"  phase 2 execute until the first index put (re-check, compaction's first file): {sw.Elapsed.TotalSeconds:F1} s, {sampler.TakePhase()}"));
        var deleted = await Pruner.ExecuteAsync(repo, storage, deleting);
        Console.WriteLine($"  phase 2 execute in all: {sw.Elapsed.TotalSeconds:F1} s, since the first index put {sampler.TakePhase()}; "
                          + $"{deleted.PacksDeleted:N0} packs deleted, {deleted.IndexFilesWritten:N0} index files written, {deleted.IndexFilesDeleted:N0} deleted");
        Console.WriteLine($"  process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");

        sw.Restart();
        await using var after = await Repo.OpenAsync(storage, Password);
        await after.LoadIndexAsync();
        var listed = (await storage.ListAsync(Layout.DataPrefix).Select(o => o.Name).ToListAsync()).ToHashSet();
        var problems = new List<string>();
        if (after.Index.Count != blobsAfter) problems.Add($"the index holds {after.Index.Count:N0} blobs, not {blobsAfter:N0}");
        if (after.Index.ClaimCount != claimsAfter) problems.Add($"the index holds {after.Index.ClaimCount:N0} claims, not {claimsAfter:N0}");
        if (after.Index.Claims().Any(c => doomed.Contains(c.Id))) problems.Add("a deleted pack is still claimed");
        if (doomed.Count == 0 || deleted.PacksDeleted != doomed.Count || doomed.Any(p => listed.Contains(Layout.Pack(p))) || storage.Deleted != doomed.Count)
            problems.Add($"{deleted.PacksDeleted:N0} of {doomed.Count:N0} packs deleted, {storage.Deleted:N0} synthetic packs gone");
        if (after.Marks.Count != 0) problems.Add($"{after.Marks.Count} mark(s) left");
        Console.WriteLine($"  verified in {sw.Elapsed.TotalSeconds:F1} s: {after.Index.Count:N0} blobs in {after.Index.ClaimCount:N0} claims"
                          + (problems.Count == 0 ? ", as expected" : "; PROBLEMS: " + string.Join("; ", problems)));
        if (problems.Count > 0) Environment.ExitCode = 1;
    }

    /// <summary>The claims and blobs the index holds once the doomed packs' claims are gone (the claim list is dropped on return).</summary>
    private static (int Claims, long Blobs) WhatStays(IndexTable index, HashSet<ObjectId> doomed)
    {
        var claims = index.Claims();
        return (claims.Count(c => !doomed.Contains(c.Id)), index.Count - claims.Where(c => doomed.Contains(c.Id)).Sum(c => (long)c.Count));
    }

    /// <summary>Phase 1, with a repository object of its own, as a separate prune run would: nothing holds its index or plan once it returns.</summary>
    private static async Task MarkAsync(IMaintenanceStorage storage, UnusedBudget budget, PeakSampler sampler)
    {
        var sw = Stopwatch.StartNew();
        await using var repo = await Repo.OpenAsync(storage, Password);
        var marking = await Pruner.PlanAsync(repo, storage, new PruneOptions { MaxUnused = budget });
        Console.WriteLine($"  phase 1 plan: {sw.Elapsed.TotalSeconds:F1} s, {sampler.TakePhase()}; mark {marking.Count(PackAction.Mark):N0}, "
                          + $"repack {marking.Count(PackAction.Repack):N0}, keep {marking.Count(PackAction.Keep):N0} packs");
        sw.Restart();
        var marked = await Pruner.ExecuteAsync(repo, storage, marking);
        Console.WriteLine($"  phase 1 execute (write the mark): {sw.Elapsed.TotalSeconds:F1} s, {sampler.TakePhase()}; {marked.PacksMarked:N0} packs marked");
    }

    /// <summary>The highest working set and managed heap seen (sampled every 20 ms) since the last <see cref="TakePhase"/>.</summary>
    private sealed class PeakSampler : IDisposable
    {
        private readonly Timer _timer;
        private long _workingSet, _heap;

        public PeakSampler() => _timer = new Timer(_ => Sample(), null, 0, 20);

        public string TakePhase()
        {
            Sample();
            var text = $"peak working set {Interlocked.Exchange(ref _workingSet, 0) / 1048576.0:F0} MiB, managed heap {Interlocked.Exchange(ref _heap, 0) / 1048576.0:F0} MiB";
            return text;
        }

        private void Sample()
        {
            Max(ref _workingSet, Environment.WorkingSet);
            Max(ref _heap, GC.GetTotalMemory(false));
        }

        private static void Max(ref long field, long value)
        {
            for (long seen = Interlocked.Read(ref field); value > seen; seen = Interlocked.Read(ref field))
                if (Interlocked.CompareExchange(ref field, value, seen) == seen) return;
        }

        public void Dispose() => _timer.Dispose();
    }

    /// <summary>A pack's sealed header and trailer as <see cref="PackWriter"/> would write them for these blobs.</summary>
    private static byte[] SyntheticTail(IndexPack pack, byte[] dataKey)
    {
        using var header = new PooledBufferWriter();
        PackHeaderCodec.Write(header, BlobType.Data, DomainId.Repository, pack.Blobs.Select(b => new PackHeaderEntry(b.Id, b.StoredLength, b.RawLength)).ToList());
        var tail = new byte[header.WrittenCount + Aead.TagSize + PackLayout.TrailerSize];
        Span<byte> nonce = stackalloc byte[Aead.NonceSize];
        PackLayout.HeaderNonce(nonce);
        Aead.Seal(dataKey, nonce, header.WrittenSpan, PackLayout.HeaderAad, tail.AsSpan(0, header.WrittenCount + Aead.TagSize));
        var trailer = tail.AsSpan(header.WrittenCount + Aead.TagSize);
        pack.WrappedKey.CopyTo(trailer);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(trailer.Slice(KeyWrap.WrappedSize, 4), (uint)(header.WrittenCount + Aead.TagSize));
        trailer[KeyWrap.WrappedSize + 4] = PackLayout.Version;
        PackLayout.Magic.CopyTo(trailer[(KeyWrap.WrappedSize + 5)..]);
        return tail;
    }

    /// <summary>
    /// The repository's store, with data/ listing the synthetic packs as well (their names and sizes), whose tails are
    /// read from DIR/synthetic-tails and whose blob bytes read as zeros (nothing here reads them).
    /// </summary>
    private sealed class WithSyntheticPacks : IMaintenanceStorage
    {
        private readonly IMaintenanceStorage _inner;
        private readonly string _tailsPath;
        private readonly Dictionary<ObjectId, (long Size, long TailOffset, int TailLength)> _packs = new();
        private readonly DateTimeOffset _stamp = DateTimeOffset.UtcNow.AddDays(-30);
        private readonly HashSet<string> _deleted = [];
        private long _tailReads;

        public WithSyntheticPacks(IMaintenanceStorage inner, string dir)
        {
            _inner = inner;
            _tailsPath = Path.Join(dir, "synthetic-tails");
            using var r = new BinaryReader(File.OpenRead(Path.Join(dir, "synthetic-packs")));
            while (r.BaseStream.Position < r.BaseStream.Length)
                _packs.Add(ObjectId.Parse(r.ReadString()), (r.ReadInt64(), r.ReadInt64(), r.ReadInt32()));
        }

        public long TailReads => Interlocked.Read(ref _tailReads);
        public string Location => _inner.Location;
        public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken ct = default)
        {
            if (name.StartsWith(Layout.IndexPrefix, StringComparison.Ordinal)) Interlocked.Exchange(ref _onFirstIndexPut, null)?.Invoke();
            return _inner.PutAsync(name, data, ct);
        }

        private Action? _onFirstIndexPut;

        /// <summary>Runs <paramref name="action"/> once, at the next put of an index file (where phase 2's compaction starts writing).</summary>
        public void ArmFirstIndexPut(Action action) => _onFirstIndexPut = action;
        /// <summary>A synthetic pack is dropped from the listing; anything else is deleted from the repository's folder.</summary>
        public Task DeleteAsync(string name, CancellationToken ct = default)
        {
            if (Synthetic(name) is null) return _inner.DeleteAsync(name, ct);
            lock (_deleted) _deleted.Add(name);
            return Task.CompletedTask;
        }
        public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken ct = default) => Task.FromResult(0);

        public Task<StoredObject?> StatAsync(string name, CancellationToken ct = default) =>
            Synthetic(name) is { } p ? Task.FromResult<StoredObject?>(new StoredObject(name, p.Size, _stamp)) : _inner.StatAsync(name, ct);

        public async Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken ct = default)
        {
            if (Synthetic(name) is not { } p) return await _inner.OpenReadAsync(name, offset, length, ct);
            if (length < 0) length = p.Size - offset;
            var bytes = new byte[length];
            long tailStart = p.Size - p.TailLength;
            long from = Math.Max(offset, tailStart);
            if (from < offset + length)
            {
                Interlocked.Increment(ref _tailReads);
                using var f = new FileStream(_tailsPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
                f.Position = p.TailOffset + (from - tailStart);
                f.ReadExactly(bytes, (int)(from - offset), (int)(offset + length - from));
            }
            return new MemoryStream(bytes, writable: false);
        }

        public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
        {
            await foreach (var o in _inner.ListAsync(prefix, ct)) yield return o;
            if (!Layout.DataPrefix.StartsWith(prefix, StringComparison.Ordinal)) yield break;
            foreach (var (id, p) in _packs)
                if (Synthetic(Layout.Pack(id)) is not null) yield return new StoredObject(Layout.Pack(id), p.Size, _stamp);
        }

        /// <summary>The synthetic packs deleted so far.</summary>
        public int Deleted
        {
            get { lock (_deleted) return _deleted.Count; }
        }

        private (long Size, long TailOffset, int TailLength)? Synthetic(string name)
        {
            if (!Layout.TryParseId(name, out var id) || name != Layout.Pack(id) || !_packs.TryGetValue(id, out var p)) return null;
            lock (_deleted) return _deleted.Contains(name) ? null : p;
        }
    }
}
