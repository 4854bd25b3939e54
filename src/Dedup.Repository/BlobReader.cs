using System.Collections.Concurrent;
using System.Security.Cryptography;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;
using Dedup.Repository.Packs;
using Dedup.Storage;

namespace Dedup.Repository;

/// <summary>
/// Fetches single blobs by byte range and verifies each one: authentication, decompression and keyed hash.
/// Unwrapped pack data keys are cached (bounded, zeroed when dropped) so each pack costs one ECDH, and tree blobs are
/// served from whole tree packs (<see cref="TreePackCache"/>) so a walk costs one request per tree pack.
/// </summary>
public sealed class BlobReader(IStorage storage, Func<IndexTable> currentIndex, RepositoryKeys keys) : IDisposable
{
    /// <summary>A reader over one fixed table (check loads its own).</summary>
    public BlobReader(IStorage storage, IndexTable index, RepositoryKeys keys) : this(storage, () => index, keys) { }

    private const int MaxCachedKeys = 8192;
    private readonly TreePackCache _treePacks = new(storage, 32L << 20);
    // Keyed by pack ID, not by the table's pack number, because the repository swaps in a fresh table on reload.
    private readonly ConcurrentDictionary<ObjectId, byte[]> _dataKeys = new();

    public BlobLocation Locate(in ObjectId id) =>
        currentIndex().TryGet(id, out var loc) ? loc : throw new BlobMissingException(id);

    /// <summary>Reads and verifies a blob; the caller disposes the result.</summary>
    public async Task<RentedBuffer> ReadAsync(ObjectId id, CancellationToken ct = default)
    {
        var loc = Locate(id);
        if (loc.Type == BlobType.Tree && await _treePacks.GetAsync(loc.PackId, ct).ConfigureAwait(false) is { } pack
            && loc.Offset + loc.StoredLength <= pack.Length)
            return Open(id, loc, pack.AsSpan((int)loc.Offset, loc.StoredLength));
        using var stored = new RentedBuffer(loc.StoredLength);
        await StoredObjects.ReadRangeAsync(storage, Layout.Pack(loc.PackId), loc.Offset, stored.Memory, ct).ConfigureAwait(false);
        return Open(id, loc, stored.Span);
    }

    /// <summary>Opens a blob whose stored bytes the caller already read (restore reads runs of blobs in one request).</summary>
    public RentedBuffer Open(in ObjectId id, in BlobLocation loc, ReadOnlySpan<byte> stored)
    {
        var output = new RentedBuffer(loc.RawLength);
        try
        {
            var where = $"blob {id.ToShortString()} in pack {Layout.Pack(loc.PackId)}";
            BlobSealer.Open(DataKey(loc), loc.Type, id, loc.Offset, stored, loc.RawLength, output.Span, keys, where);
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    private byte[] DataKey(in BlobLocation loc)
    {
        if (_dataKeys.TryGetValue(loc.PackId, out var k)) return k;
        var readKey = keys.RequireReadKey("decrypt file contents or trees");
        var key = GC.AllocateArray<byte>(Aead.KeySize, pinned: true);
        if (!KeyWrap.TryUnwrap(loc.WrappedKey, readKey, key))
            throw new CorruptObjectException(Layout.Pack(loc.PackId), "its data key does not unwrap (the index entry or pack was damaged)");
        // Past the cap, use the key uncached rather than evict: another thread may be decrypting with an evicted key.
        if (_dataKeys.Count >= MaxCachedKeys) return key;
        return _dataKeys.GetOrAdd(loc.PackId, key);
    }

    private void Clear()
    {
        foreach (var kv in _dataKeys)
            if (_dataKeys.TryRemove(kv.Key, out var v)) CryptographicOperations.ZeroMemory(v);
    }

    public void Dispose() => Clear();
}

/// <summary>A blob a tree or snapshot refers to is in no index: the repository is missing data.</summary>
public sealed class BlobMissingException(ObjectId id)
    : RepositoryException($"Blob {id} is not in the repository's index: data is missing. Run 'dedup check' to see what is affected.")
{
    public ObjectId BlobId { get; } = id;
}
