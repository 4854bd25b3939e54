using System.Collections.Concurrent;
using Dedup.Format;

namespace Dedup.Repository;

/// <summary>
/// Stored (sealed) bytes of pack regions, kept while a walk or a restore needs them, so that many small blobs cost one
/// request instead of one each. Each blob is still authenticated when it is opened, so damage costs the same blobs as
/// a direct read would. Concurrent askers for one key share one load. Bounded: the oldest entries are dropped past
/// <c>maxBytes</c>. A load that finds damage is not cached and yields null: the caller then reads the blob by range,
/// which reports it blob by blob, as it always has. Any other failure (the store is unreachable) is not cached and is
/// thrown, as the ranged read would throw it.
/// </summary>
internal sealed class StoredBytesCache<TKey>(long maxBytes, Func<TKey, CancellationToken, Task<byte[]?>> load) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Lazy<Task<byte[]?>>> _entries = new();
    private readonly ConcurrentQueue<(TKey Key, int Length)> _order = new();
    private long _bytes;

    public long MaxBytes => maxBytes;

    public Task<byte[]?> GetAsync(TKey key, CancellationToken ct) =>
        _entries.GetOrAdd(key, k => new Lazy<Task<byte[]?>>(() => LoadAsync(k, ct))).Value;

    private async Task<byte[]?> LoadAsync(TKey key, CancellationToken ct)
    {
        byte[]? bytes;
        try
        {
            bytes = await load(key, ct).ConfigureAwait(false);
        }
        catch (CorruptObjectException)
        {
            bytes = null;
        }
        catch
        {
            _entries.TryRemove(key, out _);
            throw;
        }
        if (bytes is null)
        {
            _entries.TryRemove(key, out _);
            return null;
        }
        _order.Enqueue((key, bytes.Length));
        for (long total = Interlocked.Add(ref _bytes, bytes.Length); total > maxBytes && _order.TryDequeue(out var old);)
        {
            _entries.TryRemove(old.Key, out _);
            total = Interlocked.Add(ref _bytes, -old.Length);
        }
        return bytes;
    }
}
