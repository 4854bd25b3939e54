using Dedup.Chunking;
using Dedup.Format;
using Dedup.Repository;

namespace Dedup.Archiver.Backup;

/// <summary>
/// Reads one file or stream: chunk → hash → dedup on the calling thread, and compress + seal of new chunks on
/// other threads, so even a single large file uses every core. At most <c>maxPending</c> chunks of a file are
/// in flight, which bounds memory to about (maxPending + 2) × the maximum chunk size per file.
/// </summary>
internal sealed class FileSaver(IBlobSink writer, Chunker chunker, Func<ReadOnlySpan<byte>, ObjectId> blobId, BackupProgress progress, int maxPending)
{
    public sealed record Saved(IReadOnlyList<ObjectId> Content, long Size);

    private const int InlineSealLimit = 128 * 1024;

    public async Task<Saved> SaveAsync(Stream source, CancellationToken ct)
    {
        var ids = new List<ObjectId>();
        var pending = new Queue<Task>();
        long size = 0;
        using var chunks = new StreamChunker(source, chunker);
        // Files are read synchronously: the caller runs on a worker thread, and an async read of a file handle opened
        // without FileOptions.Asynchronous is a synchronous read on yet another pool thread, one hop per read.
        bool readInline = source is FileStream;
        try
        {
            while (readInline ? chunks.MoveNext() : await chunks.MoveNextAsync(ct).ConfigureAwait(false))
            {
                var chunk = chunks.Current;
                var id = blobId(chunk.Span);
                ids.Add(id);
                size += chunk.Length;
                Interlocked.Add(ref progress._bytesRead, chunk.Length);
                Interlocked.Add(ref progress._bytesScanned, chunk.Length);
                if (!writer.Reserve(id)) continue;
                Interlocked.Add(ref progress._bytesAdded, chunk.Length);
                if (chunk.Length <= InlineSealLimit)
                {
                    // A small chunk (most small files are one) costs less to seal here than to hand to another thread.
                    await writer.AddAsync(BlobType.Data, id, chunk, ct).ConfigureAwait(false);
                    continue;
                }
                // The chunker reuses its buffer on the next call, so the chunk moves into a pooled copy the seal task owns.
                var copy = new RentedBuffer(chunk.Length);
                chunk.Span.CopyTo(copy.Span);
                pending.Enqueue(Task.Run(async () =>
                {
                    using (copy) await writer.AddAsync(BlobType.Data, id, copy.Memory, ct).ConfigureAwait(false);
                }));
                while (pending.Count >= maxPending) await pending.Dequeue().ConfigureAwait(false);
            }
            while (pending.Count > 0) await pending.Dequeue().ConfigureAwait(false);
        }
        catch
        {
            // Let started seal tasks finish before their buffers could be reused; their errors surface via the writer.
            try { await Task.WhenAll(pending).ConfigureAwait(false); } catch { /* the first error is already propagating */ }
            throw;
        }
        return new Saved(ids, size);
    }
}
