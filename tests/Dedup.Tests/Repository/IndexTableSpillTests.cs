using Dedup.Format;
using Dedup.Repository.Index;
using Dedup.TestKit;
using Xunit;

namespace Dedup.Tests.Repository;

/// <summary>
/// The index table past its resident budget (issue 14, "spill to disk where it would not fit"): entries and slots move to
/// temporary files mapped into memory. These tests check that the data really lives in those files (the process's
/// mappings name them), that every lookup still answers as before, and that the files leave no trace on disk.
/// </summary>
public sealed class IndexTableSpillTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dedup-spill-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The process's memory mappings of files in the spill folder (unlinked files show as "(deleted)").</summary>
    private List<string> SpillMappings() =>
        File.ReadAllLines("/proc/self/maps").Where(l => l.Contains(_folder + "/dedup-index-", StringComparison.Ordinal)).ToList();

    private static ObjectId[] Ids(int count, int seed)
    {
        var rng = new Random(seed);
        var bytes = new byte[ObjectId.Size];
        return Enumerable.Range(0, count).Select(_ =>
        {
            rng.NextBytes(bytes);
            return new ObjectId(bytes);
        }).ToArray();
    }

    private static List<IndexPack> Packs(ObjectId[] ids, int perPack)
    {
        var packIds = Ids(ids.Length / perPack + 1, ids.Length);
        return ids.Chunk(perPack).Select((chunk, p) => new IndexPack(packIds[p], BlobType.Data, new byte[IndexCodec.WrappedKeySize],
            chunk.Select((id, i) => new IndexBlob(id, i * 1000L, 1000, 2000 + i)).ToArray())).ToList();
    }

    [Fact]
    public void A_table_over_its_budget_keeps_the_rest_in_unlinked_mapped_files_and_answers_every_lookup()
    {
        const int perPack = 16, packs = 15_000; // 240,000 entries: four segments of 65,536, and the slots rehash twice past the budget
        var ids = Ids(perPack * packs, 7);
        var claims = Packs(ids, perPack);
        // One segment (3 MiB) fits the budget; the rest of the entries, and the slot table once it outgrows it, spill.
        using (var table = new IndexTable(3L << 20, _folder))
        {
            foreach (var p in claims) table.AddPack(p, DomainId.Repository);

            Assert.Equal(ids.Length, table.Count);
            Assert.True(table.SpilledBytes >= 3 * 65_536 * 48L, $"spilled {table.SpilledBytes} bytes");
            var mappings = SpillMappings();
            Assert.NotEmpty(mappings);
            Assert.All(mappings, m => Assert.EndsWith("(deleted)", m)); // unlinked at once: a killed process leaves nothing
            Assert.Empty(Directory.EnumerateFileSystemEntries(_folder));
            foreach (var p in claims)
                foreach (var b in p.Blobs)
                {
                    Assert.True(table.TryGet(b.Id, DomainId.Repository, out var at));
                    Assert.Equal((p.PackId, b.Offset, b.StoredLength, b.RawLength), (at.PackId, at.Offset, at.StoredLength, at.RawLength));
                }
            Assert.False(table.Contains(Ids(1, 99)[0], DomainId.Repository));
        }
        Assert.Empty(SpillMappings()); // Dispose unmaps them
    }

    /// <summary>
    /// Threat 41: another user of the admin host must not read the index through the spill files. They are created 0600
    /// and unlinked at once; the mapping's /proc/self/map_files entry is the only way left to the inode.
    /// </summary>
    [Fact]
    public void Spill_files_are_private_and_have_no_name()
    {
        using var table = new IndexTable(0, _folder);
        table.AddPack(Packs(Ids(4, 5), 4)[0], DomainId.Repository);
        var mapping = Assert.Single(SpillMappings().Select(l => l.Split(' ')[0]).Distinct());
        var inode = new FileInfo(Path.Join("/proc/self/map_files", mapping));
        Assert.True(inode.Exists);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(inode.FullName));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder));
    }

    [Fact]
    public void A_table_within_its_budget_spills_nothing()
    {
        using var table = new IndexTable(64L << 20, _folder);
        foreach (var p in Packs(Ids(100_000, 3), 16)) table.AddPack(p, DomainId.Repository);
        Assert.Equal(0, table.SpilledBytes);
        Assert.Empty(SpillMappings());
    }

    [Fact]
    public void A_spill_folder_that_cannot_take_the_file_is_one_clear_error()
    {
        using var table = new IndexTable(0, Path.Join(_folder, "missing"));
        var e = Assert.ThrowsAny<IOException>(() => table.AddPack(Packs(Ids(4, 5), 4)[0], DomainId.Repository));
        Assert.StartsWith("the index does not fit in memory and 48 MiB more of it cannot be stored in " + Path.Join(_folder, "missing"), e.Message);
        Assert.Contains("DEDUP_INDEX_SPILL_DIR", e.Message);
    }

    [Fact]
    public void A_full_disk_is_one_clear_error_when_the_table_grows_and_the_table_stays_usable()
    {
        var mnt = Directory.CreateDirectory(Path.Join(_folder, "tiny")).FullName;
        ExternalTool.Check("mount", "-t", "tmpfs", "-o", "size=4m", "dedup-spill-test", mnt);
        try
        {
            using var table = new IndexTable(0, mnt);
            var pack = Packs(Ids(4, 5), 4)[0];
            var e = Assert.ThrowsAny<IOException>(() => table.AddPack(pack, DomainId.Repository)); // the first extent is 48 MiB
            Assert.StartsWith($"the index does not fit in memory and 48 MiB more of it cannot be stored in {mnt} (", e.Message);
            Assert.Empty(Directory.EnumerateFileSystemEntries(mnt)); // nothing left behind
            Assert.False(table.Contains(pack.Blobs[0].Id, DomainId.Repository));
        }
        finally
        {
            ExternalTool.Check("umount", mnt);
        }
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("512M", 512L << 20)]
    [InlineData("2g", 2L << 30)]
    [InlineData(" 1048576 ", 1L << 20)]
    [InlineData("1T", 1L << 40)]
    public void The_budget_setting_is_a_size(string text, long bytes) => Assert.Equal(bytes, IndexTable.ResidentBudget(text));

    [Theory]
    [InlineData("lots")]
    [InlineData("-1G")]
    [InlineData("1.5G")]
    [InlineData("99999999999T")]
    public void A_budget_that_is_not_a_size_is_a_usage_error(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => IndexTable.ResidentBudget(text));
        Assert.Equal($"DEDUP_INDEX_MEMORY is '{text}': give a size such as 512M or 2G (0 keeps the whole index in temporary files)", e.Message);
    }

    [Fact]
    public void Unset_the_budget_is_a_quarter_of_the_memory_the_runtime_may_use() =>
        Assert.Equal(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4, IndexTable.ResidentBudget(null));
}
