using System.Text;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Platform;
using Dedup.Format;
using Dedup.Storage;
using Dedup.TestKit;
using Xunit;
using static Dedup.Tests.Backup.BackupTestSupport;

namespace Dedup.Tests.Backup;

/// <summary>
/// Backup control through <see cref="Archiver.RunAsync"/> on a local store: dry run, the exclusions restic users know
/// (caches, tag files, size, case-insensitive patterns, exclude files), one file system, and the three --files-from forms.
/// </summary>
public class BackupControlTests
{
    [Fact]
    public async Task A_dry_run_counts_what_a_real_run_adds_and_writes_nothing_even_to_a_store_that_refuses_every_put()
    {
        using var src = new TempDir("dedup-src");
        var files = DataGen.FileTree(src.Path, seed: 11, totalBytes: 3 << 20);
        await using var test = await TestRepo.OnDiskAsync();
        var before = await test.ListAsync("");
        var refusing = new FaultInjectingStorage(test.Storage).Add(new FaultRule { Operations = StorageOp.Put, Kind = FaultKind.Permanent });
        await using var repo = await TestRepo.OpenAsync(refusing);
        using var cache = new TempDir("dedup-cache");

        var dry = await BackupAsync(repo, Options(src.Path) with { DryRun = true, CacheDirectory = cache.Path });

        Assert.True(dry.DryRun);
        Assert.Equal(ObjectId.Empty, dry.SnapshotId);
        Assert.Empty(dry.Failures);
        Assert.Equal(0, refusing.Calls(StorageOp.Put));
        Assert.Equal(before, await test.ListAsync(""));
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache.Path));
        var summary = dry.Snapshot.Summary;
        Assert.Equal(files.Count, summary.FilesNew);
        Assert.Equal(files.Sum(f => new FileInfo(Path.Combine(src.Path, f)).Length), summary.BytesRead);
        Assert.True(summary.BlobsAdded > 0);

        // The same backup for real adds exactly what the dry run counted.
        var real = await BackupAsync(test.Repo, Options(src.Path));
        Assert.Equal(real.Snapshot.Summary.BlobsAdded, summary.BlobsAdded);
        Assert.Equal(real.Snapshot.Summary.BytesAdded, summary.BytesAdded);
        Assert.Equal(real.Snapshot.Summary.FilesNew, summary.FilesNew);
        Assert.Equal(real.Snapshot.Summary.DirsNew, summary.DirsNew);
        // (Not the root trees themselves: they hold the metadata of /tmp, which other processes change in between.)

        // After it, a dry run sees one changed file and only its new blobs; still no put reaches the store.
        File.AppendAllText(Path.Combine(src.Path, files[2]), "one more line\n");
        var after = await test.ListAsync("");
        var second = await BackupAsync(repo, Options(src.Path) with { DryRun = true });
        Assert.Equal(1, second.Snapshot.Summary.FilesChanged);
        Assert.Equal(files.Count - 1, second.Snapshot.Summary.FilesUnmodified);
        Assert.InRange(second.Snapshot.Summary.BlobsAdded, 1, 12); // the file's last chunk or two, and the trees above it
        Assert.Equal(after, await test.ListAsync(""));
        Assert.Equal(0, refusing.Calls(StorageOp.Put));

        // The refusal is real: without --dry-run the same store fails the backup.
        await Assert.ThrowsAnyAsync<StorageException>(() => BackupAsync(repo, Options(src.Path)));
        Assert.True(refusing.FaultsInjected > 0);
    }

    [Fact]
    public async Task Exclude_caches_keeps_the_tag_and_leaves_out_the_rest_of_a_tagged_directory_only()
    {
        using var src = new TempDir("dedup-src");
        Write(src.Combine("cache", "CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag.\n");
        Write(src.Combine("cache", "blob.bin"), "cached");
        Write(src.Combine("cache", "sub", "x"), "cached too");
        Write(src.Combine("fake", "CACHEDIR.TAG"), "Signature: not the standard one\n");
        Write(src.Combine("fake", "data"), "kept");
        Write(src.Combine("keep.txt"), "kept");
        await using var test = await TestRepo.OnDiskAsync();

        var excluded = await BackupAsync(test.Repo, Options(src.Path) with { ExcludeCaches = true });
        Assert.Equal(["cache", "cache/CACHEDIR.TAG", "fake", "fake/CACHEDIR.TAG", "fake/data", "keep.txt"], await PathsAsync(test.Repo, excluded.Snapshot, src.Path));

        var all = await BackupAsync(test.Repo, Options(src.Path));
        Assert.Contains("cache/sub/x", await PathsAsync(test.Repo, all.Snapshot, src.Path));
    }

    [Fact]
    public async Task Exclude_if_present_takes_a_file_name_and_an_optional_header()
    {
        using var src = new TempDir("dedup-src");
        Write(src.Combine("a", ".nobackup"), "");
        Write(src.Combine("a", "x"), "left out");
        Write(src.Combine("b", "MARK"), "dedup-skip, please");
        Write(src.Combine("b", "y"), "left out");
        Write(src.Combine("c", "MARK"), "something else");
        Write(src.Combine("c", "z"), "kept: the header does not match");
        Write(src.Combine("d", ".nobackup"), "");
        Write(src.Combine("d", "MARK"), "dedup-skip");
        Write(src.Combine("d", "w"), "left out");
        await using var test = await TestRepo.OnDiskAsync();

        var result = await BackupAsync(test.Repo, Options(src.Path) with { ExcludeIfPresent = [".nobackup", "MARK:dedup-skip"] });

        // As in restic, each tag rule leaves out everything but its own file, so two tags in one directory leave nothing.
        Assert.Equal(["a", "a/.nobackup", "b", "b/MARK", "c", "c/MARK", "c/z", "d"], await PathsAsync(test.Repo, result.Snapshot, src.Path));
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => BackupAsync(test.Repo, Options(src.Path) with { ExcludeIfPresent = ["sub/.nobackup"] }));
        Assert.Contains("sub/.nobackup", bad.Message);
    }

    [Fact]
    public async Task Exclude_larger_than_leaves_out_files_above_the_size_including_a_file_given_directly()
    {
        using var src = new TempDir("dedup-src");
        Write(src.Combine("small"), new byte[1000]);
        Write(src.Combine("exact"), new byte[1024]);
        Write(src.Combine("big"), new byte[1025]);
        Write(src.Combine("dir", "big"), new byte[5000]);
        await using var test = await TestRepo.OnDiskAsync();

        var result = await BackupAsync(test.Repo, Options(src.Path) with { ExcludeLargerThan = ByteSize.Parse("1k") });
        Assert.Equal(["dir", "exact", "small"], await PathsAsync(test.Repo, result.Snapshot, src.Path));

        var direct = await BackupAsync(test.Repo, Options(src.Combine("big"), src.Combine("small")) with { ExcludeLargerThan = 1024 });
        Assert.Equal(["small"], await PathsAsync(test.Repo, direct.Snapshot, src.Path));
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("2048", 2048L)]
    [InlineData("1k", 1024L)]
    [InlineData("10K", 10240L)]
    [InlineData("20m", 20L << 20)]
    [InlineData("30G", 30L << 30)]
    [InlineData("2t", 2L << 40)]
    [InlineData("1KB", 1024L)]
    [InlineData("100MiB", 100L << 20)]
    public void Sizes_are_read_as_restic_reads_them(string text, long bytes) => Assert.Equal(bytes, ByteSize.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("1.5M")]
    [InlineData("-1")]
    [InlineData("1XB")]
    [InlineData("MiB")]
    [InlineData("k")]
    [InlineData("99999999999999999999")]
    [InlineData("9999999999999t")]
    public void Bad_sizes_are_refused_with_one_line(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => ByteSize.Parse(text));
        Assert.Contains($"'{text}'", e.Message);
    }

    [Fact]
    public async Task Case_insensitive_excludes_and_exclude_files_apply_together()
    {
        using var src = new TempDir("dedup-src");
        foreach (var name in new[] { "a.JPG", "b.jpg", "c.png", "d.tmp", "e.TMP", "notes.txt", "Build/out.o" }) Write(src.Combine(name), name);
        var excludeFile = src.Combine("..", Path.GetFileName(src.Path) + ".excludes");
        File.WriteAllText(excludeFile, "# temporary files\n  *.tmp  \n");
        var iexcludeFile = excludeFile + ".i";
        File.WriteAllText(iexcludeFile, "build\n");
        try
        {
            await using var test = await TestRepo.OnDiskAsync();
            var result = await BackupAsync(test.Repo, Options(src.Path) with
            {
                InsensitiveExcludes = ["*.jpg"], ExcludeFiles = [excludeFile], InsensitiveExcludeFiles = [iexcludeFile],
            });
            Assert.Equal(["c.png", "e.TMP", "notes.txt"], await PathsAsync(test.Repo, result.Snapshot, src.Path));
        }
        finally
        {
            File.Delete(excludeFile);
            File.Delete(iexcludeFile);
        }
    }

    [Fact]
    public async Task One_file_system_keeps_mount_points_empty_unless_a_path_below_them_is_given()
    {
        using var src = new TempDir("dedup-src");
        Write(src.Combine("a.txt"), "on the source file system");
        var mnt = src.CreateDirectory("mnt");
        ExternalTool.Check("mount", "-t", "tmpfs", "-o", "size=8m", "dedup-test", mnt);
        try
        {
            Write(src.Combine("mnt", "inner.txt"), "on another file system");
            Write(src.Combine("mnt", "deeper", "x"), "also");
            Assert.NotEqual(PosixFile.LStat(src.Path).Device, PosixFile.LStat(mnt).Device); // the mount really happened
            await using var test = await TestRepo.OnDiskAsync();

            var crossing = await BackupAsync(test.Repo, Options(src.Path));
            Assert.Equal(["a.txt", "mnt", "mnt/deeper", "mnt/deeper/x", "mnt/inner.txt"], await PathsAsync(test.Repo, crossing.Snapshot, src.Path));

            var oneFs = await BackupAsync(test.Repo, Options(src.Path) with { OneFileSystem = true });
            var entries = await EntriesAsync(test.Repo, oneFs.Snapshot, src.Path);
            Assert.Equal(["a.txt", "mnt"], entries.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(NodeType.Directory, entries["mnt"].Type); // the mount point itself stays, empty

            var nested = await BackupAsync(test.Repo, Options(src.Path, src.Combine("mnt", "deeper")) with { OneFileSystem = true });
            Assert.Equal(["a.txt", "mnt", "mnt/deeper", "mnt/deeper/x"], await PathsAsync(test.Repo, nested.Snapshot, src.Path));
        }
        finally
        {
            ExternalTool.Run("umount", mnt);
        }
    }

    [Fact]
    public async Task Files_from_reads_patterns_verbatim_lines_and_nul_separated_entries()
    {
        using var src = new TempDir("dedup-src");
        using var lists = new TempDir("dedup-lists");
        foreach (var name in new[] { "one.txt", "two.log", "three.log", " lead.txt", "#hash.txt", "new\nline.txt", "sub/deep.txt", "other.txt" })
            Write(src.Combine(name), name);
        var plain = lists.Combine("plain");
        File.WriteAllText(plain, $"# a comment\n  {src.Path}/one.txt  \n\n{src.Path}/t*.log\r\n{src.Path}/nothing-*.zzz\n");
        var verbatim = lists.Combine("verbatim");
        File.WriteAllText(verbatim, $"{src.Path}/ lead.txt\n\n{src.Path}/#hash.txt\n");
        var raw = lists.Combine("raw");
        File.WriteAllText(raw, $"{src.Path}/new\nline.txt\0{src.Path}/sub\0\0");
        await using var test = await TestRepo.OnDiskAsync();

        var result = await BackupAsync(test.Repo, Options() with { FilesFrom = [plain], FilesFromVerbatim = [verbatim], FilesFromRaw = [raw] });

        Assert.Equal([" lead.txt", "#hash.txt", "new\nline.txt", "one.txt", "sub", "sub/deep.txt", "three.log", "two.log"],
            await PathsAsync(test.Repo, result.Snapshot, src.Path));
        Assert.Equal(7, result.Snapshot.Paths.Count);
        var warning = Assert.Single(result.Warnings);
        Assert.Contains("nothing-*.zzz", warning);

        // Names trees cannot hold are refused with one line, and a list that names nothing says so.
        File.WriteAllBytes(raw, [.. Encoding.UTF8.GetBytes(src.Path + "/"), 0xFF, 0xFE, 0]);
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => BackupAsync(test.Repo, Options() with { FilesFromRaw = [raw] }));
        Assert.Contains("not valid UTF-8", bad.Message);
        File.WriteAllText(plain, "# nothing\n");
        var empty = await Assert.ThrowsAsync<ArgumentException>(() => BackupAsync(test.Repo, Options() with { FilesFrom = [plain] }));
        Assert.Contains("--files-from", empty.Message);
    }
}
