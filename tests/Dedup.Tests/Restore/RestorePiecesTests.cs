using Dedup.Archiver.Platform;
using Dedup.Archiver.Restore;
using Dedup.Format;
using Dedup.TestKit;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dedup.Tests.Restore;

/// <summary>The restorer's file-level pieces on their own: sparse writing and the hard-link table.</summary>
public class RestorePiecesTests
{
    /// <summary>Content made of random runs of zeros and data, cut into random pieces (as blobs cut a file).</summary>
    private static Gen<(byte[] Content, int[] Cuts)> SparseContent =>
        from runs in Gen.ListOf(Gen.Choose(0, 20_000).SelectMany(n => Gen.Elements(true, false).Select(zero => (n, zero))))
        let content = runs.SelectMany(r => r.zero ? new byte[r.n] : DataGen.RandomBytes(r.n, r.n)).ToArray()
        from cuts in Gen.ListOf(Gen.Choose(0, Math.Max(0, content.Length)))
        select (content, cuts.Distinct().Order().ToArray());

    [Property(MaxTest = 60)]
    public Property Sparse_writing_keeps_the_content_and_length_whatever_the_pieces() =>
        Prop.ForAll(SparseContent.ToArbitrary(), input =>
        {
            var (content, cuts) = input;
            using var dir = new TempDir();
            var path = dir.Combine("f");
            long skipped;
            using (var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write))
            {
                var writer = new SparseFileWriter(handle, sparse: true);
                // Pieces arrive pack by pack, not in file order: write them last first.
                var bounds = cuts.Prepend(0).Append(content.Length).ToArray();
                for (int i = bounds.Length - 2; i >= 0; i--)
                    writer.WriteAt(content.AsSpan(bounds[i], bounds[i + 1] - bounds[i]), bounds[i]);
                writer.Finish(content.Length);
                skipped = writer.SkippedBytes;
            }
            var back = File.ReadAllBytes(path);
            // Every aligned all-zero block is skipped, so at least the zero blocks fully inside the content are holes.
            long zeroBlocks = Enumerable.Range(0, content.Length / SparseFileWriter.BlockSize)
                .Count(b => content.AsSpan(b * SparseFileWriter.BlockSize, SparseFileWriter.BlockSize).IndexOfAnyExcept((byte)0) < 0);
            return (back.AsSpan().SequenceEqual(content) && skipped >= zeroBlocks * SparseFileWriter.BlockSize)
                .Label($"length {content.Length}, {cuts.Length} cuts, skipped {skipped}, zero blocks {zeroBlocks}");
        });

    [Fact]
    public void A_file_of_zeros_only_allocates_nothing_and_keeps_its_length()
    {
        using var dir = new TempDir();
        var path = dir.Combine("zeros");
        using (var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write))
        {
            var writer = new SparseFileWriter(handle, sparse: true);
            for (int i = 0; i < 16; i++) writer.WriteAt(new byte[1 << 20], (long)i << 20);
            writer.Finish(16L << 20);
            Assert.Equal(16L << 20, writer.SkippedBytes);
        }
        Assert.Equal(16L << 20, new FileInfo(path).Length);
        Assert.Equal(0, PosixFile.LStat(path).Blocks);
    }

    private static TreeNode File1(string name, uint links = 2, ulong inode = 7, string content = "c") =>
        new() { Name = name, Type = NodeType.File, Links = links, Inode = inode, Device = 1, Size = 1, Content = [ObjectId.HashOf(System.Text.Encoding.UTF8.GetBytes(content))] };

    [Fact]
    public void The_hard_link_table_links_later_names_of_the_same_file_only()
    {
        var table = new HardLinkTable();
        Assert.False(table.IsLaterName("/t/a", "/a", File1("a")));               // first name: written
        Assert.True(table.IsLaterName("/t/b", "/b", File1("b")));                // same device and inode: linked
        Assert.False(table.IsLaterName("/t/c", "/c", File1("c", content: "x"))); // same inode, other content: written apart
        Assert.False(table.IsLaterName("/t/d", "/d", File1("d", links: 1)));     // a single link is never a link
        Assert.False(table.IsLaterName("/t/e", "/e", File1("e", inode: 8)));     // another file
        Assert.False(table.IsLaterName("/t/v1", "/v1", File1("v1", links: 0)));  // version-1 trees know no links
        Assert.Equal(["/t/b"], table.Links.Select(l => l.Path));

        // Until the first name holds content there is nothing to link to; a name written in its place takes over.
        Assert.Null(table.TargetFor("/t/a"));
        table.Replace("/t/a", "/t/b");
        table.Written("/t/b", File1("b"));
        Assert.Equal("/t/b", table.TargetFor("/t/a"));
        table.Written("/t/a", File1("a"));
        Assert.Equal("/t/a", table.TargetFor("/t/a"));
    }
}
