using Dedup.Archiver.Platform;
using Dedup.Archiver.Restore;
using Dedup.Format;
using Dedup.TestKit;
using Xunit;
using static Dedup.Tests.Backup.BackupTestSupport;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Restore;

/// <summary>
/// Restorer's handling of what is already in the target, on a local store: each --overwrite mode on a target with an
/// extra, a changed, an older and a merely touched file; --delete within the include/exclude scope; --dry-run, which
/// changes nothing and reads no pack data; --verify, which names a file changed between its write and its check.
/// </summary>
public class RestoreModesTests
{
    private static readonly DateTime SnapshotTime = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private sealed class Fixture : IAsyncDisposable
    {
        public readonly TempDir Src = new("dedup-src");
        public readonly TempDir Target = new("dedup-restore");
        public TestRepo Test = null!;
        public Dedup.Format.ObjectId Snapshot;

        public Repo Repo => Test.Repo;
        public string At(string name) => Target.Path + Src.Combine(name);

        public static async Task<Fixture> CreateAsync()
        {
            var f = new Fixture();
            foreach (var (name, text) in new[] { ("same.txt", "unchanged"), ("changed.txt", "snapshot version"), ("older.txt", "snapshot of older"),
                         ("touched.txt", "same bytes, other mtime"), ("missing.txt", "gone from the target"), ("sub/keep.log", "a log"), ("sub/data.bin", "data") })
            {
                Directory.CreateDirectory(Path.GetDirectoryName(f.Src.Combine(name))!);
                Write(f.Src.Combine(name), text);
                File.SetLastWriteTimeUtc(f.Src.Combine(name), SnapshotTime);
            }
            f.Test = await TestRepo.OnDiskAsync();
            f.Snapshot = (await BackupAsync(f.Test.Repo, Options(f.Src.Path))).SnapshotId;
            return f;
        }

        /// <summary>A full restore, then: one file edited (newer), one edited and dated before the snapshot, one touched, one removed, extras added.</summary>
        public async Task PrepareTargetAsync()
        {
            Assert.Empty((await RunAsync(o => o)).Failures);
            File.WriteAllText(At("changed.txt"), "local edit, newer");
            File.SetLastWriteTimeUtc(At("changed.txt"), SnapshotTime.AddYears(3));
            File.WriteAllText(At("older.txt"), "local edit, older");
            File.SetLastWriteTimeUtc(At("older.txt"), SnapshotTime.AddYears(-1));
            File.SetLastWriteTimeUtc(At("touched.txt"), SnapshotTime.AddYears(2));
            File.Delete(At("missing.txt"));
            File.WriteAllText(At("extra.txt"), "not in the snapshot");
            File.WriteAllText(At("sub/extra.log"), "not in the snapshot either");
            Directory.CreateDirectory(At("sub/extra-dir/deeper"));
            File.WriteAllText(At("sub/extra-dir/deeper/x"), "xx");
        }

        public async Task<RestoreResult> RunAsync(Func<RestoreOptions, RestoreOptions> adjust)
        {
            var loaded = await Repo.Snapshots.LoadAsync(Snapshot);
            return await Restorer.RunAsync(Repo, loaded, adjust(new RestoreOptions { Target = Target.Path, Workers = 2, RestoreOwners = false }), new RestoreProgress());
        }

        public async ValueTask DisposeAsync()
        {
            await Test.DisposeAsync();
            Src.Dispose();
            Target.Dispose();
        }
    }

    [Theory]
    [InlineData(OverwriteMode.Never, "", "changed.txt older.txt touched.txt")]
    [InlineData(OverwriteMode.Always, "changed.txt older.txt same.txt sub/data.bin sub/keep.log touched.txt", "")]
    [InlineData(OverwriteMode.IfChanged, "changed.txt older.txt", "")]
    [InlineData(OverwriteMode.IfNewer, "older.txt", "changed.txt touched.txt")]
    public async Task Each_mode_replaces_exactly_what_it_says(OverwriteMode mode, string replaced, string kept)
    {
        await using var f = await Fixture.CreateAsync();
        await f.PrepareTargetAsync();
        var inodes = Directory.GetFiles(f.Target.Path, "*", SearchOption.AllDirectories).ToDictionary(p => p, p => PosixFile.LStat(p).Inode);
        var actions = new System.Collections.Concurrent.ConcurrentBag<(RestoreAction, string)>();

        var r = await f.RunAsync(o => o with { Overwrite = mode, OnAction = (a, p, _) => actions.Add((a, p[(f.Src.Path.Length + 1)..])) });

        Assert.Empty(r.Failures);
        var replacedNames = replaced.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var keptNames = kept.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        Assert.Equal(replacedNames.Order(), actions.Where(a => a.Item1 == RestoreAction.Overwrite).Select(a => a.Item2).Order());
        Assert.Equal(keptNames.Order(), actions.Where(a => a.Item1 == RestoreAction.Keep).Select(a => a.Item2).Order());
        Assert.Equal(["missing.txt"], actions.Where(a => a.Item1 == RestoreAction.Restore).Select(a => a.Item2));
        Assert.Equal(replacedNames.Count, r.Overwritten);
        Assert.Equal(keptNames.Count, r.Skipped);
        foreach (var name in new[] { "same.txt", "changed.txt", "older.txt", "touched.txt", "sub/keep.log", "sub/data.bin" })
        {
            var path = f.At(name);
            var fromSnapshot = File.ReadAllText(f.Src.Combine(name));
            if (keptNames.Contains(name))
            {
                Assert.NotEqual(SnapshotTime, File.GetLastWriteTimeUtc(path));
                continue;
            }
            Assert.Equal(fromSnapshot, File.ReadAllText(path));
            Assert.Equal(SnapshotTime, File.GetLastWriteTimeUtc(path));
            // Replaced files are new files renamed into place; the others were not rewritten.
            Assert.Equal(replacedNames.Contains(name), PosixFile.LStat(path).Inode != inodes[path]);
        }
        Assert.Equal("gone from the target", File.ReadAllText(f.At("missing.txt")));
        Assert.True(File.Exists(f.At("extra.txt")), "without --delete extras stay");
    }

    [Fact]
    public async Task If_changed_hashes_a_same_size_file_whose_mtime_differs_and_trusts_size_and_mtime_when_they_agree()
    {
        await using var f = await Fixture.CreateAsync();
        Assert.Empty((await f.RunAsync(o => o)).Failures);
        // Same length, another mtime, one byte different: only the content comparison can tell it from touched.txt.
        File.WriteAllText(f.At("same.txt"), "unchangeD");
        File.SetLastWriteTimeUtc(f.At("same.txt"), SnapshotTime.AddDays(1));
        var r = await f.RunAsync(o => o with { Overwrite = OverwriteMode.IfChanged });
        Assert.Equal(1, r.Overwritten);
        Assert.Equal("unchanged", File.ReadAllText(f.At("same.txt")));

        // Size, mtime and mode as in the snapshot: taken as unchanged without reading (as restic does; 'always' rewrites).
        File.WriteAllText(f.At("same.txt"), "unchangeD");
        File.SetLastWriteTimeUtc(f.At("same.txt"), SnapshotTime);
        Assert.Equal(0, (await f.RunAsync(o => o with { Overwrite = OverwriteMode.IfChanged })).Overwritten);
        Assert.Equal("unchangeD", File.ReadAllText(f.At("same.txt")));
        Assert.Equal(1, (await f.RunAsync(o => o with { Overwrite = OverwriteMode.Always, Includes = [f.Src.Combine("same.txt")] })).Overwritten);
        Assert.Equal("unchanged", File.ReadAllText(f.At("same.txt")));
    }

    [Fact]
    public async Task Delete_removes_what_is_not_in_the_snapshot_within_the_scope_only()
    {
        await using var f = await Fixture.CreateAsync();
        await f.PrepareTargetAsync();
        var outside = f.Target.Combine("elsewhere.txt"); // at the target's root, outside every snapshot path
        File.WriteAllText(outside, "x");

        // Scoped to sub/, and *.log excluded: only sub/extra-dir goes; extra.txt and sub/extra.log are out of scope.
        var scoped = await f.RunAsync(o => o with { Delete = true, Includes = [f.Src.Combine("sub")], Excludes = ["*.log"] });
        Assert.Empty(scoped.Failures);
        Assert.Equal(3, scoped.Deleted); // sub/extra-dir, deeper, deeper/x
        Assert.Equal(2, scoped.DeletedBytes);
        Assert.False(Directory.Exists(f.At("sub/extra-dir")));
        Assert.True(File.Exists(f.At("sub/extra.log")));
        Assert.True(File.Exists(f.At("extra.txt")));

        var all = await f.RunAsync(o => o with { Delete = true, Overwrite = OverwriteMode.IfChanged });
        Assert.Empty(all.Failures);
        Assert.Equal(3, all.Deleted); // extra.txt, sub/extra.log, the target's elsewhere.txt
        Assert.False(File.Exists(f.At("extra.txt")));
        Assert.False(File.Exists(f.At("sub/extra.log")));
        Assert.False(File.Exists(outside));
        Assert.Equal(DataGen.Digest(f.Src.Path), DataGen.Digest(f.At("")));
    }

    [Fact]
    public async Task Delete_never_follows_a_symlink_out_of_the_target()
    {
        await using var f = await Fixture.CreateAsync();
        using var victim = new TempDir("dedup-victim");
        File.WriteAllText(victim.Combine("precious"), "must survive");
        Assert.Empty((await f.RunAsync(o => o)).Failures);
        File.CreateSymbolicLink(f.At("sub/link"), victim.Path);

        var r = await f.RunAsync(o => o with { Delete = true });
        Assert.Equal(1, r.Deleted);
        Assert.False(PosixFile.TryLStat(f.At("sub/link"), out _));
        Assert.Equal("must survive", File.ReadAllText(victim.Combine("precious")));
    }

    [Fact]
    public async Task Dry_run_changes_nothing_reads_no_pack_data_and_counts_what_would_happen()
    {
        await using var f = await Fixture.CreateAsync();
        await f.PrepareTargetAsync();
        var before = DataGen.Listing(f.Target.Path);

        var r = await f.RunAsync(o => o with { DryRun = true, Delete = true, Overwrite = OverwriteMode.IfChanged, Verify = true });

        Assert.Equal(before, DataGen.Listing(f.Target.Path));
        Assert.True(r.DryRun);
        Assert.Equal(0, r.Reads!.Requests);
        Assert.Equal(0, r.Reads.BlobsOpened);
        Assert.Equal(2, r.Overwritten); // changed.txt, older.txt
        Assert.Equal(4, r.Unchanged);   // same.txt, touched.txt (content equal), sub/keep.log, sub/data.bin
        Assert.Equal(5, r.Deleted);     // extra.txt, sub/extra.log, sub/extra-dir, its deeper/ and deeper/x
        Assert.Equal(0, r.Verified);

        // A fresh target: everything would be written, and the target is not even created.
        var fresh = Path.Combine(f.Target.Path, "new-target");
        var loaded = await f.Repo.Snapshots.LoadAsync(f.Snapshot);
        var planned = await Restorer.RunAsync(f.Repo, loaded, new RestoreOptions { Target = fresh, DryRun = true, RestoreOwners = false }, new RestoreProgress());
        Assert.False(Path.Exists(fresh));
        Assert.Equal(7, planned.Files);
        Assert.Equal(Directory.GetFiles(f.Src.Path, "*", SearchOption.AllDirectories).Sum(p => new FileInfo(p).Length), planned.Bytes);
    }

    [Fact]
    public async Task Verify_passes_a_good_restore_and_names_a_file_changed_after_it_was_written()
    {
        await using var f = await Fixture.CreateAsync();
        var good = await f.RunAsync(o => o with { Verify = true });
        Assert.Empty(good.VerifyFailures);
        Assert.Equal(7, good.Verified);

        using var again = new TempDir("dedup-restore");
        var corrupted = new System.Collections.Concurrent.ConcurrentBag<string>();
        var loaded = await f.Repo.Snapshots.LoadAsync(f.Snapshot);
        var bad = await Restorer.RunAsync(f.Repo, loaded, new RestoreOptions
        {
            Target = again.Path, Verify = true, RestoreOwners = false,
            BeforeVerify = path =>
            {
                if (!path.EndsWith("changed.txt", StringComparison.Ordinal)) return;
                using var s = new FileStream(path, FileMode.Open, FileAccess.Write);
                s.Position = 3;
                s.WriteByte((byte)'X'); // same length: only the content check sees it
                corrupted.Add(path);
            },
        }, new RestoreProgress());
        Assert.Single(corrupted); // the fault fired
        var failure = Assert.Single(bad.VerifyFailures);
        Assert.Equal(f.Src.Combine("changed.txt"), failure.Path);
        Assert.Contains("differ from the snapshot", failure.Reason);
        Assert.Equal(7, bad.Verified);
    }
}
