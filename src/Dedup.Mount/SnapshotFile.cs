using Dedup.Format;
using Dedup.Fuse;

namespace Dedup.Mount;

/// <summary>
/// An open file of a snapshot: a read at any offset finds its blob by binary search over the blobs' end offsets.
/// Those come from the index's blob sizes and are summed only as far as reads have reached, so opening a huge file
/// costs nothing and reading its start costs little.
/// </summary>
internal sealed class SnapshotFile(TreeNode node, DomainId domain, string path, BlobCache blobs, IBlobSource sizes) : IReadableFile
{
    private readonly Lock _lock = new();
    // _ends[i] is the offset just past blob i.
    private readonly List<long> _ends = [];

    public long Size => node.Size;

    public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        if (offset >= node.Size || buffer.Length == 0) return 0;
        int wanted = (int)Math.Min(buffer.Length, node.Size - offset);
        int done = 0;
        int index = BlobAt(offset);
        while (done < wanted)
        {
            if (index >= node.Content.Count)
                throw new CorruptObjectException(path, $"its blobs hold {End(node.Content.Count - 1)} bytes, but the snapshot records {node.Size}");
            long start = index == 0 ? 0 : End(index - 1);
            using var blob = await blobs.LeaseAsync(new BlobKey(domain, node.Content[index]), ct).ConfigureAwait(false);
            int from = (int)(offset + done - start);
            int n = Math.Min(blob.Length - from, wanted - done);
            blob.CopyTo(from, buffer.Span.Slice(done, n));
            done += n;
            index++;
        }
        return done;
    }

    /// <summary>The index of the blob holding byte <paramref name="offset"/>, or Content.Count when the blobs end before it.</summary>
    private int BlobAt(long offset)
    {
        lock (_lock)
        {
            while ((_ends.Count == 0 || _ends[^1] <= offset) && _ends.Count < node.Content.Count) AddNextEnd();
            // The first blob ending after the offset; empty blobs end where they start and are passed over.
            int lo = 0, hi = _ends.Count;
            while (lo < hi)
            {
                int mid = lo + (hi - lo) / 2;
                if (_ends[mid] <= offset) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }
    }

    private long End(int index)
    {
        if (index < 0) return 0;
        lock (_lock)
        {
            while (_ends.Count <= index) AddNextEnd();
            return _ends[index];
        }
    }

    private void AddNextEnd() => _ends.Add((_ends.Count == 0 ? 0 : _ends[^1]) + sizes.RawLength(new BlobKey(domain, node.Content[_ends.Count])));

    public void Dispose()
    {
        // Blobs are leased per read, so nothing is held between reads.
    }
}
