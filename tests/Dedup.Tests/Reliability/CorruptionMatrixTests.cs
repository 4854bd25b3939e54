using Dedup.Archiver.Check;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Maintenance;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;
using Dedup.Storage.S3;
using Dedup.TestKit;
using Dedup.Tests.Storage;
using Xunit;
using static Dedup.Tests.Reliability.ReliabilityHelpers;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Reliability;

public enum ObjectKind { Config, Key, DataPack, Tree, Index, Snapshot }

/// <summary>Where the damaged repository lives: in memory, in a local folder, or under a prefix of the test S3 server.</summary>
public enum Backend { Memory, Disk, S3 }

public enum Damage
{
    /// <summary>One bit of one byte changes.</summary>
    Flip,
    /// <summary>The object loses its tail.</summary>
    Truncate,
    /// <summary>The object's bytes are replaced by another valid object of the same kind.</summary>
    Replace,
}

/// <summary>
/// The corruption matrix of issue 5: for every kind of stored object, in memory, on disk and on the S3 server, flip a byte, truncate, or
/// replace it with another valid object of its kind. Then check names exactly the damaged object and why; check
/// --read-data lists the affected snapshots and files; restore restores every unaffected file identical and names the
/// affected ones; and nothing throws anything but the documented exceptions.
/// </summary>
public sealed class CorruptionMatrixTests
{
    public static TheoryData<ObjectKind, Damage, Backend> Cases()
    {
        var data = new TheoryData<ObjectKind, Damage, Backend>();
        foreach (var kind in Enum.GetValues<ObjectKind>())
            foreach (var damage in Enum.GetValues<Damage>())
                foreach (var backend in Enum.GetValues<Backend>())
                    data.Add(kind, damage, backend);
        return data;
    }

    /// <summary>A repository with two snapshots of a changing tree (so every kind has a second valid object) and two keys.</summary>
    private sealed class Fixture : IAsyncDisposable
    {
        public required TestRepo Repo { get; init; }
        public required TempDir Source { get; init; }
        public required ObjectId First { get; init; }
        public required ObjectId Latest { get; init; }
        public required ObjectId SecondKey { get; init; }
        public S3Location? S3 { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Repo.DisposeAsync();
            Source.Dispose();
            if (S3 is not null) await S3TestEnvironment.CleanUpAsync(S3);
        }
    }

    private static async Task<Fixture> CreateAsync(Backend backend)
    {
        // Enough data for several 1 MiB packs, so that a damaged one costs only some files.
        // On S3 the damage is done with the admin credential (delete, then put), as a hostile admin or a bad disk would.
        var s3 = backend == Backend.S3 ? S3TestEnvironment.FreshLocation(purpose: "corruption") : null;
        var t = backend switch
        {
            Backend.Disk => await TestRepo.OnDiskAsync(),
            Backend.S3 => await TestRepo.OnStorageAsync(S3TestEnvironment.Storage(s3!, S3TestEnvironment.Admin)),
            _ => await TestRepo.InMemoryAsync(),
        };
        var src = new TempDir("dedup-src");
        var files = DataGen.FileTree(src.Path, 21, 2_400_000);
        var first = (await BackupAsync(t.Repo, src.Path)).SnapshotId;
        File.WriteAllBytes(Path.Join(src.Path, files[3]), DataGen.RandomBytes(99, 70_000));
        File.WriteAllBytes(Path.Join(src.Path, "added later"), DataGen.Mixed(98, 120_000));
        var latest = (await BackupAsync(t.Repo, src.Path)).SnapshotId;
        var key = await KeyManager.AddAsync(t.Repo, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password), KeyKind.Full, "testhost", "tester", TestRepo.CheapKdf);
        return new Fixture { Repo = t, Source = src, First = first, Latest = latest, SecondKey = key, S3 = s3 };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Damage_is_named_by_check_and_restore_keeps_every_unaffected_file(ObjectKind kind, Damage damage, Backend backend)
    {
        await using var f = await CreateAsync(backend);
        switch (kind)
        {
            case ObjectKind.Config: await ConfigAsync(f, damage); break;
            case ObjectKind.Key: await KeyAsync(f, damage); break;
            case ObjectKind.DataPack: await DataPackAsync(f, damage); break;
            case ObjectKind.Tree: await TreeAsync(f, damage); break;
            case ObjectKind.Index: await IndexAsync(f, damage); break;
            case ObjectKind.Snapshot: await SnapshotAsync(f, damage); break;
        }
    }

    // ---- damage ----

    private static async Task<byte[]> DamageAsync(TestRepo t, string name, Damage damage, string replacement, int flipAt = -1)
    {
        var bytes = await t.ReadObjectAsync(name);
        var bad = damage switch
        {
            Damage.Flip => Flip(bytes, flipAt < 0 ? bytes.Length / 2 : flipAt),
            Damage.Truncate => bytes[..(bytes.Length * 2 / 3)],
            _ => await t.ReadObjectAsync(replacement),
        };
        Assert.NotEqual(bytes, bad);
        await t.ReplaceObjectAsync(name, bad);
        return bad;
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] ^= 0x08;
        return copy;
    }

    private static async Task<string> OtherAsync(TestRepo t, string prefix, string not) =>
        (await t.ListAsync(prefix)).First(n => n != not);

    // ---- the checks every case makes ----

    private static async Task<T> Documented<T>(Func<Task<T>> action, string what)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (!IsDocumented(e))
        {
            throw new Xunit.Sdk.XunitException($"{what} threw an undocumented {e.GetType().Name}: {e}");
        }
    }

    private static async Task<CheckResult> CheckAsync(Fixture f, bool readData)
    {
        await using var repo = await Documented(() => Repo.OpenAsync(f.Repo.Storage, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password)), "open");
        return await Documented(() => Checker.RunAsync(repo, new CheckOptions { ReadData = readData }), "check");
    }

    /// <summary>Files of the latest snapshot (= the source as it is now), by snapshot path.</summary>
    private static List<string> LatestFiles(Fixture f) =>
        // Symlinks (to files and to directories) are skipped: a directory link is not descended into.
        Directory.EnumerateFiles(f.Source.Path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }).ToList();

    /// <summary>
    /// Restores the latest snapshot and returns its failures. Every file not named (itself or by a directory above it) is
    /// restored identical; a named file is absent, never half-written or wrong.
    /// </summary>
    private static async Task<List<string>> RestoreLatestAsync(Fixture f, Repo repo)
    {
        using var target = new TempDir("dedup-restore");
        var r = await Documented(() => RestoreAsync(repo, f.Latest, target.Path), "restore");
        var failed = r.Failures.Select(x => x.Path).ToList();
        foreach (var file in LatestFiles(f))
        {
            var restored = Path.Join(target.Path, file);
            bool named = failed.Any(p => file == p || file.StartsWith(p.TrimEnd('/') + "/", StringComparison.Ordinal) || p == "/");
            if (named) Assert.False(File.Exists(restored), $"{file} is named as failed but was restored");
            else Assert.True(File.Exists(restored) && File.ReadAllBytes(file).AsSpan().SequenceEqual(File.ReadAllBytes(restored)), $"{file} is not named but not restored identical");
        }
        Assert.DoesNotContain(Directory.EnumerateFiles(target.Path, "*", SearchOption.AllDirectories), p => p.EndsWith(".dedup-partial", StringComparison.Ordinal));
        return failed;
    }

    /// <summary>Restore fails only for what check listed as affected (files, or directories whose trees are lost).</summary>
    private static void AssertRestoreFailuresAreWhatCheckListed(IReadOnlyCollection<string> failed, CheckResult check)
    {
        var affected = check.Errors.SelectMany(e => e.AffectedFiles).Select(p => p.TrimEnd('/')).Select(p => p.Length == 0 ? "/" : p).ToHashSet();
        foreach (var p in failed) Assert.True(affected.Contains(p), $"restore failed for {p}, which check did not list (check: {string.Join(", ", affected)})");
    }

    // ---- per kind ----

    private static async Task ConfigAsync(Fixture f, Damage damage)
    {
        // Another valid config: that of another repository.
        await using var other = await TestRepo.InMemoryAsync();
        await using var opened = await Repo.OpenAsync(f.Repo.Storage, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password));
        var bad = damage == Damage.Replace ? await other.ReadObjectAsync(Layout.Config) : null;
        if (bad is not null) await f.Repo.ReplaceObjectAsync(Layout.Config, bad);
        else await DamageAsync(f.Repo, Layout.Config, damage, "");

        var e = await Assert.ThrowsAnyAsync<Exception>(() => Repo.OpenAsync(f.Repo.Storage, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password)));
        var corrupt = Assert.IsType<CorruptObjectException>(e);
        Assert.Equal(Layout.Config, corrupt.ObjectName);

        // A repository opened before the damage: check names the config, and nothing else.
        var r = await Documented(() => Checker.RunAsync(opened, new CheckOptions()), "check");
        var p = Assert.Single(r.Errors);
        Assert.Equal(Layout.Config, p.ObjectName);
    }

    private static async Task KeyAsync(Fixture f, Damage damage)
    {
        var first = (await f.Repo.ListAsync(Layout.KeysPrefix)).First(n => n != Layout.Key(f.SecondKey));
        await DamageAsync(f.Repo, first, damage, Layout.Key(f.SecondKey), flipAt: 40);

        // The other key still opens the repository; check names the damaged key file and why.
        var r = await CheckAsync(f, readData: false);
        var p = Assert.Single(r.Errors);
        Assert.Equal(first, p.ObjectName);
        Assert.Contains("does not match its name", p.Description);
        Assert.Empty(p.AffectedFiles);
        await using var repo = await TestRepo.OpenAsync(f.Repo.Storage);
        Assert.Empty(await RestoreLatestAsync(f, repo));

        // With only the damaged key left, opening fails with one of the two documented errors.
        await f.Repo.Storage.DeleteAsync(Layout.Key(f.SecondKey));
        var e = await Record.ExceptionAsync(() => Repo.OpenAsync(f.Repo.Storage, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password)));
        Assert.True(e is CorruptObjectException { ObjectName: var n } && n == first || e is WrongPasswordException, $"{e}");
    }

    private static async Task<(string Pack, ObjectId Blob, BlobLocation Loc)> SomeDataBlobAsync(Fixture f)
    {
        // A data blob of a file in the latest snapshot, in a pack that does not hold everything.
        await using var repo = await TestRepo.OpenAsync(f.Repo.Storage);
        var snapshot = await repo.Snapshots.LoadAsync(f.Latest);
        var packs = repo.Index.Claims().Where(p => p.Type == BlobType.Data).ToList();
        Assert.True(packs.Count >= 3, $"only {packs.Count} data packs");
        await foreach (var e in SnapshotWalker.WalkAsync(repo, snapshot))
            if (e.Node.Type == NodeType.File && e.Node.Content.Count > 0 && e.Node.Size < 100_000)
            {
                var id = e.Node.Content[0];
                Assert.True(repo.Index.TryGet(id, Dedup.Format.DomainId.Repository, out var loc));
                return (Layout.Pack(loc.PackId), id, loc);
            }
        throw new InvalidOperationException("no small file");
    }

    private static async Task DataPackAsync(Fixture f, Damage damage)
    {
        var (pack, _, loc) = await SomeDataBlobAsync(f);
        string other;
        await using (var r0 = await TestRepo.OpenAsync(f.Repo.Storage))
            other = r0.Index.Claims().Where(p => p.Type == BlobType.Data).Select(p => Layout.Pack(p.Id)).First(n => n != pack);
        await DamageAsync(f.Repo, pack, damage, other, flipAt: (int)loc.Offset + loc.StoredLength / 2);

        var quick = await CheckAsync(f, readData: false);
        // A flipped byte inside a blob keeps the pack's size and header: only reading the data finds it.
        if (damage == Damage.Flip) Assert.True(quick.IsOk, string.Join("\n", quick.Problems));
        else Assert.All(quick.Errors, e => Assert.Equal(pack, e.ObjectName));
        if (damage != Damage.Flip) Assert.NotEmpty(quick.Errors);

        var full = await CheckAsync(f, readData: true);
        Assert.NotEmpty(full.Errors);
        Assert.All(full.Errors, e => Assert.Equal(pack, e.ObjectName));
        Assert.Contains(full.Errors, e => e.AffectedFiles.Count > 0 && e.AffectedSnapshots.Contains(f.Latest.ToString()));

        await using var repo = await TestRepo.OpenAsync(f.Repo.Storage);
        var failed = await RestoreLatestAsync(f, repo);
        Assert.NotEmpty(failed);
        AssertRestoreFailuresAreWhatCheckListed(failed, full);
    }

    /// <summary>A tree blob of a subdirectory (not the root, not the source folder itself) of the latest snapshot.</summary>
    private static async Task<(string Dir, ObjectId Tree, BlobLocation Loc)> SomeSubtreeAsync(Fixture f)
    {
        await using var repo = await TestRepo.OpenAsync(f.Repo.Storage);
        var snapshot = await repo.Snapshots.LoadAsync(f.Latest);
        await foreach (var e in SnapshotWalker.WalkAsync(repo, snapshot))
            if (e.Node.Type == NodeType.Directory && e.Path.StartsWith(f.Source.Path + "/", StringComparison.Ordinal) && e.Node.Content.Count == 1
                && Directory.EnumerateFiles(e.Path).Any())
            {
                Assert.True(repo.Index.TryGet(e.Node.Content[0], Dedup.Format.DomainId.Repository, out var loc));
                return (e.Path, e.Node.Content[0], loc);
            }
        throw new InvalidOperationException("no subdirectory with files");
    }

    private static async Task TreeAsync(Fixture f, Damage damage)
    {
        var (dir, tree, loc) = await SomeSubtreeAsync(f);
        var pack = Layout.Pack(loc.PackId);
        var bytes = await f.Repo.ReadObjectAsync(pack);
        byte[] bad;
        switch (damage)
        {
            case Damage.Flip:
                bad = Flip(bytes, (int)loc.Offset + loc.StoredLength / 2);
                break;
            case Damage.Truncate:
                bad = bytes[..((int)loc.Offset + loc.StoredLength / 2)];
                break;
            default:
            {
                // Another valid tree blob's sealed bytes written over this one's place.
                await using var repo0 = await TestRepo.OpenAsync(f.Repo.Storage);
                var donor = repo0.Index.Blobs().First(b => b.Location.Type == BlobType.Tree && b.Id != tree).Location;
                var donorBytes = (await f.Repo.ReadObjectAsync(Layout.Pack(donor.PackId))).AsSpan((int)donor.Offset, donor.StoredLength);
                bad = (byte[])bytes.Clone();
                donorBytes[..Math.Min(donorBytes.Length, loc.StoredLength)].CopyTo(bad.AsSpan((int)loc.Offset));
                break;
            }
        }
        await f.Repo.ReplaceObjectAsync(pack, bad);

        // The tree walk reads every tree, so even the quick check names the pack, the tree and the directory it costs.
        var quick = await CheckAsync(f, readData: false);
        Assert.NotEmpty(quick.Errors);
        Assert.All(quick.Errors, e => Assert.Equal(pack, e.ObjectName));
        if (damage != Damage.Truncate)
            Assert.Contains(quick.Errors, e => e.Description.Contains($"tree {tree.ToShortString()}") && e.AffectedFiles.Contains(dir + "/")
                                               && e.AffectedSnapshots.Contains(f.Latest.ToString()));
        var full = await CheckAsync(f, readData: true);
        Assert.All(full.Errors, e => Assert.Equal(pack, e.ObjectName));

        await using var repo = await TestRepo.OpenAsync(f.Repo.Storage);
        var failed = await RestoreLatestAsync(f, repo);
        if (damage != Damage.Truncate) Assert.Contains(dir, failed);
        AssertRestoreFailuresAreWhatCheckListed(failed, full);
    }

    private static async Task IndexAsync(Fixture f, Damage damage)
    {
        var index = (await f.Repo.ListAsync(Layout.IndexPrefix))[0];
        await DamageAsync(f.Repo, index, damage, await OtherAsync(f.Repo, Layout.IndexPrefix, index));

        var r = await CheckAsync(f, readData: true);
        Assert.Contains(r.Errors, e => e.ObjectName == index && e.Description.Contains("does not match its name"));
        // The only other errors are the blobs that index alone listed, now missing, with what they cost.
        Assert.All(r.Errors.Where(e => e.ObjectName != index), e =>
        {
            Assert.StartsWith("blob ", e.ObjectName);
            Assert.NotEmpty(e.AffectedSnapshots);
        });
        Assert.Contains(r.Warnings, w => w.Description.StartsWith("unindexed"));

        // A load skips the damaged file and names it (prune then keeps packs that no other file lists), so restore
        // still gets everything the other index files describe. 'repair index' rebuilds it, and then restore is complete.
        await using var repo = await Repo.OpenAsync(f.Repo.Storage, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password));
        await repo.LoadIndexAsync();
        Assert.False(repo.IndexReport.Complete);
        Assert.Equal(index, Assert.Single(repo.DamagedIndexFiles).ObjectName);
        await Repair.RebuildIndexAsync(repo, f.Repo.Storage);
        await repo.LoadIndexAsync();
        Assert.Empty(await RestoreLatestAsync(f, repo));
        Assert.True((await CheckAsync(f, readData: true)).IsOk);
    }

    private static async Task SnapshotAsync(Fixture f, Damage damage)
    {
        var name = Layout.Snapshot(f.First);
        await DamageAsync(f.Repo, name, damage, Layout.Snapshot(f.Latest));

        var r = await CheckAsync(f, readData: true);
        var p = Assert.Single(r.Errors);
        Assert.Equal(name, p.ObjectName);
        Assert.Equal(1, r.SnapshotsChecked);

        await using var repo = await TestRepo.OpenAsync(f.Repo.Storage);
        var e = await Assert.ThrowsAsync<CorruptObjectException>(() => repo.Snapshots.LoadAsync(f.First));
        Assert.Equal(name, e.ObjectName);
        var damaged = new List<ObjectId>();
        var all = await repo.Snapshots.LoadAllAsync((id, _) => damaged.Add(id));
        Assert.Equal([f.First], damaged);
        Assert.Equal(f.Latest, Assert.Single(all).Id);
        Assert.Empty(await RestoreLatestAsync(f, repo));
    }
}
