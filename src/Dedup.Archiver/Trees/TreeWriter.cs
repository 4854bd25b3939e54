using System.IO.Hashing;
using System.Text;
using Dedup.Archiver.Cache;
using Dedup.Format;
using Dedup.Repository;

namespace Dedup.Archiver.Trees;

/// <summary>
/// Encodes a directory's entries into one or more tree blobs and stores them. A large directory is cut
/// after entries whose name hash has its low 10 bits zero (about every 1,024 entries) or when a blob
/// passes 4 MiB. The cut points depend only on names, so adding one file to a directory of a million
/// entries changes one tree blob, not all of them.
/// </summary>
public static class TreeWriter
{
    private const int CutMask = 0x3FF;
    private const int MaxTreeBlob = 4 * 1024 * 1024;

    public static Task<IReadOnlyList<ObjectId>> SaveAsync(RepositoryWriter writer, IReadOnlyList<TreeNode> nodes, CancellationToken ct, TreeCache? cache = null) =>
        SaveAsync(new Backup.WriterSink(writer), nodes, ct, cache);

    internal static async Task<IReadOnlyList<ObjectId>> SaveAsync(Backup.IBlobSink writer, IReadOnlyList<TreeNode> nodes, CancellationToken ct, TreeCache? cache = null)
    {
        var ids = new List<ObjectId>(1);
        using var blob = new PooledBufferWriter();
        using var body = new PooledBufferWriter();
        int count = 0;
        for (int i = 0; i < nodes.Count; i++)
        {
            TreeCodec.WriteNode(body, nodes[i]);
            count++;
            bool last = i == nodes.Count - 1;
            if (last || IsCutPoint(nodes[i].Name) || body.WrittenCount >= MaxTreeBlob)
            {
                ids.Add(await FlushAsync(writer, blob, body, count, cache, ct).ConfigureAwait(false));
                count = 0;
            }
        }
        // An empty directory is one tree blob with no entries, so that every directory has content to point at.
        if (nodes.Count == 0) ids.Add(await FlushAsync(writer, blob, body, 0, cache, ct).ConfigureAwait(false));
        return ids;
    }

    private static async Task<ObjectId> FlushAsync(Backup.IBlobSink writer, PooledBufferWriter blob, PooledBufferWriter body, int count, TreeCache? cache, CancellationToken ct)
    {
        blob.Clear();
        TreeCodec.WriteHeader(blob, count);
        blob.Write(body.WrittenSpan);
        body.Clear();
        var id = await writer.SaveAsync(BlobType.Tree, blob.WrittenMemory, ct).ConfigureAwait(false);
        cache?.Write(id, blob.WrittenSpan);
        return id;
    }

    private static bool IsCutPoint(string name)
    {
        Span<byte> buf = stackalloc byte[256];
        int n = Encoding.UTF8.GetByteCount(name);
        var bytes = n <= buf.Length ? buf[..n] : new byte[n];
        Encoding.UTF8.GetBytes(name, bytes);
        return (XxHash3.HashToUInt64(bytes) & CutMask) == 0;
    }
}
