using Dedup.Archiver.Check;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.TestKit;
using Xunit;
using static Dedup.Tests.Reliability.ReliabilityHelpers;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Reliability;

/// <summary>
/// Hostile trees (issue 5, "Hostile input"): tree blobs encoded by hand in the tree layout, bypassing every writer-side
/// check, sealed and stored as a real writer would, under real snapshots. Restore must never write outside its target
/// (a sibling folder "outside" must stay empty), and must say what it refused. Hostile lengths and deep nesting must end
/// in a <see cref="CorruptObjectException"/> without large allocations.
/// </summary>
public sealed class PathSafetyTests : IAsyncLifetime
{
    private readonly TempDir _base = new("dedup-hostile");
    private TestRepo _t = null!;

    private string Target => _base.Combine("target");
    private string Outside => _base.Combine("outside");

    public async Task InitializeAsync()
    {
        _t = await TestRepo.InMemoryAsync();
        Directory.CreateDirectory(Target);
        Directory.CreateDirectory(Outside);
    }

    public async Task DisposeAsync()
    {
        await _t.DisposeAsync();
        _base.Dispose();
    }

    private Repo R => _t.Repo;

    // ---- hand encoding (the layout of spec "Trees", without TreeCodec's validation) ----

    private static void Entry(PooledBufferWriter w, string name, NodeType type, string link = "", IReadOnlyList<ObjectId>? content = null, long size = 0)
    {
        w.WriteString(name);
        w.WriteByte((byte)type);
        w.WriteVarUInt(type == NodeType.Directory ? 0x1EDu : 0x1A4u); // mode
        w.WriteVarUInt(1000); // uid
        w.WriteVarUInt(1000); // gid
        w.WriteString("u");
        w.WriteString("g");
        w.WriteVarInt64(1_700_000_000_000_000_000); // mtime
        w.WriteVarInt64(1_700_000_000_000_000_000); // ctime
        w.WriteVarUInt((ulong)size);
        w.WriteVarUInt(1); // inode
        w.WriteVarUInt(1); // device
        w.WriteVarUInt(0); // rdev
        w.WriteString(link);
        content ??= [];
        w.WriteVarUInt((ulong)content.Count);
        foreach (var id in content) w.WriteId(id);
    }

    private sealed record E(string Name, NodeType Type, string Link = "", IReadOnlyList<ObjectId>? Content = null, long Size = 0);

    private static byte[] Encode(IReadOnlyList<E> entries, ulong? count = null)
    {
        using var w = new PooledBufferWriter();
        w.WriteByte(1);
        w.WriteVarUInt(count ?? (ulong)entries.Count);
        foreach (var e in entries) Entry(w, e.Name, e.Type, e.Link, e.Content, e.Size);
        return w.ToArray();
    }

    private static E File(string name, ObjectId data, long size = 5) => new(name, NodeType.File, Content: [data], Size: size);
    private static E Dir(string name, params ObjectId[] trees) => new(name, NodeType.Directory, Content: trees);
    private static E Link(string name, string target) => new(name, NodeType.Symlink, Link: target);

    /// <summary>Stores blobs and a snapshot whose root is <paramref name="root"/>, as a writer would (packs, index, snapshot).</summary>
    private async Task<ObjectId> SnapshotAsync(params byte[][] rootBlobs)
    {
        await using var writer = R.StartWriting(uploadConcurrency: 1);
        var ids = new List<ObjectId>();
        foreach (var b in rootBlobs) ids.Add(await writer.SaveAsync(BlobType.Tree, b));
        await writer.FlushAsync();
        return await R.Snapshots.SaveAsync(new SnapshotInfo
        {
            Time = DateTimeOffset.UtcNow, Host = "testhost", Paths = ["/hostile"], Tree = ids.Select(i => i.ToString()).ToArray(),
        });
    }

    private async Task<ObjectId> BlobAsync(BlobType type, byte[] plaintext, Dedup.Repository.RepositoryWriter? shared = null)
    {
        if (shared is not null) return await shared.SaveAsync(type, plaintext);
        await using var writer = R.StartWriting(uploadConcurrency: 1);
        var id = await writer.SaveAsync(type, plaintext);
        await writer.FlushAsync();
        return id;
    }

    private Task<ObjectId> DataAsync(string text = "hello") => BlobAsync(BlobType.Data, System.Text.Encoding.UTF8.GetBytes(text));

    private void AssertNothingEscaped()
    {
        Assert.Empty(Everything(Outside));
        Assert.Equal(["outside", "target"], Directory.EnumerateFileSystemEntries(_base.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.False(System.IO.File.Exists("/etc/dedup-pwned"));
    }

    private async Task<CheckResult> CheckAsync()
    {
        await using var repo = await Repo.OpenAsync(_t.Storage, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password));
        return await Checker.RunAsync(repo, new CheckOptions { ReadData = true });
    }

    // ---- names ----

    public static TheoryData<string> HostileNames() => ["..", ".", "a/b", "../../outside/pwned", "/etc/dedup-pwned", "x\0y", "", "../outside"];

    [Theory]
    [MemberData(nameof(HostileNames))]
    public async Task A_hostile_name_is_refused_and_nothing_is_written_outside_the_target(string name)
    {
        var data = await DataAsync();
        var inner = await BlobAsync(BlobType.Tree, Encode([File("escaped", data)]));
        // The hostile name both as a directory (whose content would land "through" it) and as a file, each with a safe sibling.
        var asDir = await SnapshotAsync(Encode([Dir(name, inner), File("zz-safe", data)]));
        var asFile = await SnapshotAsync(Encode([File(name, data), File("zz-safe", data)]));
        var absolute = await SnapshotAsync(Encode([File(Path.Join(Outside, "pwned"), data)]));

        foreach (var s in new[] { asDir, asFile, absolute })
        {
            var r = await RestoreAsync(R, s, Target, overwrite: true);
            var failure = Assert.Single(r.Failures);
            Assert.Equal("/", failure.Path);
            Assert.Contains("unsafe entry name", failure.Reason);
            AssertNothingEscaped();
        }
        Assert.Empty(Everything(Target));

        var check = await CheckAsync();
        Assert.Equal(3, check.SnapshotsChecked);
        Assert.NotEmpty(check.Errors);
        Assert.All(check.Errors, e => Assert.Contains("unsafe entry name", e.Description));
        Assert.All(check.Errors, e => Assert.Contains("/", e.AffectedFiles));
    }

    [Fact]
    public async Task Duplicate_and_unsorted_names_are_refused()
    {
        var data = await DataAsync();
        var dup = await SnapshotAsync(Encode([File("a", data), File("a", data)]));
        var unsorted = await SnapshotAsync(Encode([File("b", data), File("a", data)]));
        foreach (var s in new[] { dup, unsorted })
        {
            var r = await RestoreAsync(R, s, Target);
            Assert.Contains("strictly ascending", Assert.Single(r.Failures).Reason);
        }
        Assert.Empty(Everything(Target));
    }

    // ---- symlinks ----

    [Fact]
    public async Task A_directory_split_over_two_tree_blobs_cannot_repeat_a_symlinks_name()
    {
        var data = await DataAsync();
        var inner = await BlobAsync(BlobType.Tree, Encode([File("through-the-link", data)]));
        var s = await SnapshotAsync(Encode([Link("x", Outside)]), Encode([Dir("x", inner)]));
        var r = await RestoreAsync(R, s, Target, overwrite: true);
        Assert.Contains("overlap", Assert.Single(r.Failures).Reason);
        AssertNothingEscaped();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_symlink_restored_earlier_is_never_written_through_by_a_later_snapshot(bool overwrite)
    {
        var data = await DataAsync();
        var inner = await BlobAsync(BlobType.Tree, Encode([File("through-the-link", data)]));
        var links = await SnapshotAsync(Encode([Link("rel", "../outside"), Link("x", Outside)]));
        var dirs = await SnapshotAsync(Encode([Dir("rel", inner), Dir("x", inner), File("y", data)]));

        var first = await RestoreAsync(R, links, Target);
        Assert.Empty(first.Failures);
        Assert.Equal(Outside, new FileInfo(Path.Join(Target, "x")).LinkTarget);

        var second = await RestoreAsync(R, dirs, Target, overwrite);
        AssertNothingEscaped();
        if (overwrite)
        {
            // The links are replaced by real directories, and the files land inside the target.
            Assert.Empty(second.Failures);
            Assert.Null(new FileInfo(Path.Join(Target, "x")).LinkTarget);
            Assert.True(System.IO.File.Exists(Path.Join(Target, "x", "through-the-link")));
            Assert.True(System.IO.File.Exists(Path.Join(Target, "rel", "through-the-link")));
        }
        else
        {
            // Refused and named; the unaffected file is restored.
            Assert.Equal([Path.Join(Target, "rel"), Path.Join(Target, "x")], second.Failures.Select(f => f.Path).Order(StringComparer.Ordinal));
            Assert.All(second.Failures, f => Assert.Contains("not a directory", f.Reason));
            Assert.True(System.IO.File.Exists(Path.Join(Target, "y")));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Symlinks_already_in_the_target_are_never_followed(bool overwrite)
    {
        var data = await DataAsync("content that must stay inside");
        var inner = await BlobAsync(BlobType.Tree, Encode([File("inner", data, 29)]));
        var s = await SnapshotAsync(Encode([Dir("d", inner), File("f", data, 29), File("g", data, 29)]));
        System.IO.File.CreateSymbolicLink(Path.Join(Target, "d"), Outside);
        System.IO.File.CreateSymbolicLink(Path.Join(Target, "f"), Path.Join(Outside, "victim"));
        System.IO.File.CreateSymbolicLink(Path.Join(Target, "g.dedup-partial"), Path.Join(Outside, "partial"));

        var r = await RestoreAsync(R, s, Target, overwrite);
        AssertNothingEscaped();
        Assert.Equal("content that must stay inside", System.IO.File.ReadAllText(Path.Join(Target, "g")));
        Assert.False(System.IO.File.Exists(Path.Join(Target, "g.dedup-partial")) || new FileInfo(Path.Join(Target, "g.dedup-partial")).LinkTarget is not null);
        if (overwrite)
        {
            Assert.Empty(r.Failures);
            Assert.Null(new FileInfo(Path.Join(Target, "f")).LinkTarget);
            Assert.True(System.IO.File.Exists(Path.Join(Target, "d", "inner")));
        }
        else
        {
            Assert.Equal(Path.Join(Target, "d"), Assert.Single(r.Failures).Path);
            Assert.Equal(1, r.Skipped); // f: exists (as a link), left alone without --overwrite
        }
    }

    // ---- resource limits ----

    [Fact]
    public async Task Nesting_deeper_than_the_limit_is_a_CorruptObjectException_for_walk_restore_and_check()
    {
        var data = await DataAsync();
        ObjectId tree;
        await using (var writer = R.StartWriting(uploadConcurrency: 1))
        {
            tree = await BlobAsync(BlobType.Tree, Encode([File("leaf", data)]), writer);
            for (int i = 0; i < Limits.MaxTreeDepth + 20; i++) tree = await BlobAsync(BlobType.Tree, Encode([Dir("d", tree)]), writer);
            await writer.FlushAsync();
        }
        var s = await SnapshotAsync(Encode([Dir("top", tree)]));
        var loaded = await R.Snapshots.LoadAsync(s);

        var walk = await Assert.ThrowsAsync<CorruptObjectException>(async () => { await foreach (var _ in SnapshotWalker.WalkAsync(R, loaded)) { } });
        Assert.Contains("nest deeper", walk.Reason);
        var restore = await Assert.ThrowsAsync<CorruptObjectException>(() => RestoreAsync(R, s, Target));
        Assert.Contains("nest deeper", restore.Reason);
        AssertNothingEscaped();
        var check = await CheckAsync();
        Assert.Contains(check.Errors, e => e.ObjectName == Layout.Snapshot(s) && e.Description.Contains("nest deeper"));
    }

    /// <summary>Tree plaintexts with hostile length fields: each claims far more than the bytes hold.</summary>
    public static TheoryData<string, byte[]> HostileLengths()
    {
        var id = new ObjectId(new byte[32]);
        byte[] Build(Action<PooledBufferWriter> body)
        {
            using var w = new PooledBufferWriter();
            body(w);
            return w.ToArray();
        }
        return new TheoryData<string, byte[]>
        {
            { "2^31 entries", Build(w => { w.WriteByte(1); w.WriteVarUInt(1UL << 31); }) },
            { "2^63 entries", Build(w => { w.WriteByte(1); w.WriteVarUInt(1UL << 63); w.Write(new byte[64]); }) },
            { "overlong varint", Build(w => { w.WriteByte(1); w.Write([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]); }) },
            { "name of 2^40 bytes", Build(w => { w.WriteByte(1); w.WriteVarUInt(1); w.WriteVarUInt(1UL << 40); w.Write(new byte[40]); }) },
            { "link target of 2^31-1 bytes", Build(w =>
                {
                    w.WriteByte(1); w.WriteVarUInt(1);
                    using var e = new PooledBufferWriter();
                    Entry(e, "l", NodeType.Symlink);
                    var bytes = e.WrittenSpan.ToArray();
                    w.Write(bytes.AsSpan(0, bytes.Length - 2)); // up to the (empty) link target
                    w.WriteVarUInt(int.MaxValue);
                    w.Write(new byte[40]);
                }) },
            { "2^35 content IDs", Build(w =>
                {
                    w.WriteByte(1); w.WriteVarUInt(1);
                    using var e = new PooledBufferWriter();
                    Entry(e, "f", NodeType.File, content: [id]);
                    var bytes = e.WrittenSpan.ToArray();
                    w.Write(bytes.AsSpan(0, bytes.Length - 33)); // up to the content count
                    w.WriteVarUInt(1UL << 35);
                    w.Write(id.ToArray());
                }) },
        };
    }

    [Theory]
    [MemberData(nameof(HostileLengths))]
    public async Task A_hostile_length_field_is_refused_without_a_large_allocation(string what, byte[] plaintext)
    {
        _ = what;
        TreeCodec.Decode(Encode([]), "warm-up");
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CorruptObjectException>(() => TreeCodec.Decode(plaintext, "tree t"));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("tree t", e.ObjectName);
        Assert.True(allocated < 256 * 1024, $"{allocated} bytes allocated to refuse it");

        // The same tree stored in a repository: restore names it and writes nothing, check names it.
        var s = await SnapshotAsync(plaintext);
        var r = await RestoreAsync(R, s, Target);
        Assert.Equal("/", Assert.Single(r.Failures).Path);
        Assert.Empty(Everything(Target));
        var check = await CheckAsync();
        Assert.Single(check.Errors);
    }
}
