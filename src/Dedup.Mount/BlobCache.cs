using Dedup.Format;
using Dedup.Repository;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Mount;

/// <summary>
/// Where the mount gets file contents: whole verified blobs by ID, and their sizes. Today the repository's
/// <see cref="BlobReader"/>; a pack-oriented reader (PackStreamer, issue #14) can take its place here without the rest
/// of the mount changing.
/// </summary>
internal interface IBlobSource
{
    /// <summary>The plaintext length of a blob, from the index (no read).</summary>
    int RawLength(BlobKey blob);

    /// <summary>Reads and verifies one blob under its domain's key; the caller disposes the result.</summary>
    Task<RentedBuffer> ReadAsync(BlobKey blob, CancellationToken ct);
}

/// <summary>A blob as a snapshot names it: its ID within the snapshot's dedup domain (IDs are only meaningful there).</summary>
internal readonly record struct BlobKey(DomainId Domain, ObjectId Id);

internal sealed class RepositoryBlobSource(Repo repo) : IBlobSource
{
    public int RawLength(BlobKey blob) => repo.Blobs.Locate(blob.Id, blob.Domain).RawLength;

    public Task<RentedBuffer> ReadAsync(BlobKey blob, CancellationToken ct) => repo.Blobs.ReadAsync(blob.Id, blob.Domain, ct);
}

/// <summary>
/// Decrypted blobs shared by every open file, within a byte budget (counted in the pooled arrays that hold them).
/// The kernel reads a file in pieces of 128 KiB, several at once (read-ahead), while a blob is up to a few MiB: each
/// blob is opened once and then copied from for every piece that falls in it. Once every byte of a blob has been
/// handed out it is dropped at once, since the kernel keeps file pages itself (kernel_cache): the cache holds the blobs
/// being read, not the history, and a copy of many small files costs no memory. A blob stays valid while a reader holds
/// a lease, even if the cache drops it meanwhile; the last one out returns the buffer (cleared) to the pool.
/// </summary>
internal sealed class BlobCache
{
    private readonly BoundedCache<BlobKey, SharedBlob> _cache;
    private readonly IBlobSource _source;

    public BlobCache(IBlobSource source, long budgetBytes, CancellationToken lifetime)
    {
        _source = source;
        _cache = new(budgetBytes, async (id, ct) => new SharedBlob(await source.ReadAsync(id, ct).ConfigureAwait(false)),
            blob => blob.Footprint, blob => blob.Release(), lifetime);
    }

    public long CachedBytes => _cache.CachedCost;

    public async Task<BlobLease> LeaseAsync(BlobKey id, CancellationToken ct)
    {
        // A blob dropped between its load and this lease is loaded again; after a few such races (a budget far too
        // small for the readers at work) the reader gets a private copy instead.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var blob = await _cache.GetAsync(id, ct).ConfigureAwait(false);
            if (blob.TryAcquire()) return new BlobLease(blob, () => _cache.Remove(id, blob));
        }
        return new BlobLease(new SharedBlob(await _source.ReadAsync(id, ct).ConfigureAwait(false)), null);
    }

    public void Clear() => _cache.Clear();
}

/// <summary>A decrypted blob with a count of its holders (the cache and each lease).</summary>
internal sealed class SharedBlob(RentedBuffer buffer)
{
    private int _holders = 1;
    private long _delivered;

    public int Length => buffer.Length;
    public ReadOnlySpan<byte> Span => buffer.Span;

    /// <summary>The memory it takes: the pooled array, which may be up to twice the blob.</summary>
    public long Footprint { get; } = buffer.Array.Length;

    /// <summary>Counts bytes copied out; true once as many as the blob holds have been.</summary>
    public bool Deliver(int bytes) =>
        bytes > 0 && Interlocked.Add(ref _delivered, bytes) is var total && total >= Length && total - bytes < Length;

    public bool TryAcquire()
    {
        for (int n = Volatile.Read(ref _holders); n > 0; n = Volatile.Read(ref _holders))
            if (Interlocked.CompareExchange(ref _holders, n + 1, n) == n) return true;
        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _holders) == 0) buffer.Dispose();
    }
}

internal sealed class BlobLease(SharedBlob blob, Action? dropFromCache) : IDisposable
{
    private int _released;

    public int Length => blob.Length;

    /// <summary>Copies bytes out; the copy that completes the blob drops it from the cache.</summary>
    public void CopyTo(int from, Span<byte> destination)
    {
        blob.Span.Slice(from, destination.Length).CopyTo(destination);
        if (blob.Deliver(destination.Length)) dropFromCache?.Invoke();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) blob.Release();
    }
}
