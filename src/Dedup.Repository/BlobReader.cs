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
/// Fetches single blobs on demand (tree walks, the FUSE mount, cat) and verifies each one: authentication,
/// decompression and keyed hash; it also opens the blobs <see cref="PackStreamer"/> reads in bulk, so both share one
/// data key cache. Unwrapped pack data keys are cached (bounded, zeroed when dropped) so each pack costs one ECDH. Tree
/// blobs come from whole cached tree packs (<see cref="StoredBytesCache{TKey}"/>), because a walk asks for thousands of
/// directories whose trees sit together: over S3 that is one request per tree pack instead of one per directory (2,680
/// directories: 15.5 s of ranged GETs -> 2.0 s). Data blobs wanted in bulk go through <see cref="PackStreamer"/>, which
/// knows what is wanted next instead of guessing it.
/// </summary>
public sealed class BlobReader : IDisposable
{
    private const int MaxCachedKeys = 8192;

    private readonly IStorage _storage;
    private readonly Func<IndexTable> _currentIndex;
    private readonly RepositoryKeys _keys;
    private readonly StoredBytesCache<ObjectId> _treePacks;

    public BlobReader(IStorage storage, Func<IndexTable> currentIndex, RepositoryKeys keys)
    {
        _storage = storage;
        _currentIndex = currentIndex;
        _keys = keys;
        _treePacks = new(32L << 20, LoadTreePackAsync);
    }

    /// <summary>A reader over one fixed table (check loads its own).</summary>
    public BlobReader(IStorage storage, IndexTable index, RepositoryKeys keys) : this(storage, () => index, keys) { }
    // Keyed by the SHA-256 of the wrapped key: stable across reloads of the table, and distinct for competing claims.
    private readonly ConcurrentDictionary<ObjectId, byte[]> _dataKeys = new();

    /// <summary>Every location of a blob of <paramref name="domain"/>, best first (see <see cref="IndexTable.Locations"/>).</summary>
    public List<BlobLocation> Locations(in ObjectId id, DomainId domain) => _currentIndex().Locations(id, domain);

    /// <summary>The best location of a blob of <paramref name="domain"/> (see <see cref="IndexTable.Locations"/>).</summary>
    public BlobLocation Locate(in ObjectId id, DomainId domain)
    {
        var all = _currentIndex().Locations(id, domain);
        return all.Count > 0 ? all[0] : throw new BlobMissingException(id);
    }

    /// <summary>
    /// Reads and verifies a blob of <paramref name="domain"/>; the caller disposes the result. Every location the index
    /// knows is tried in turn, best first, until one opens and hashes to the ID under the domain's key: a false claim
    /// (a compromised writer pointing the ID at garbage) costs one failed read, never the restore.
    /// </summary>
    public async Task<RentedBuffer> ReadAsync(ObjectId id, DomainId domain, CancellationToken ct = default)
    {
        _keys.RequireReadKey("decrypt file contents or trees");
        var locations = _currentIndex().Locations(id, domain);
        if (locations.Count == 0) throw new BlobMissingException(id);
        CorruptObjectException? first = null;
        foreach (var loc in locations)
        {
            try
            {
                return await ReadAtAsync(id, loc, ct).ConfigureAwait(false);
            }
            catch (CorruptObjectException e)
            {
                first ??= e;
            }
            catch (ObjectNotFoundException) when (locations.Count > 1)
            {
                first ??= new CorruptObjectException(Layout.Pack(loc.PackId), "the pack is missing");
            }
        }
        throw first!;
    }

    /// <summary>Reads and verifies a blob at one given location (prune copies from the very pack it repacks).</summary>
    public async Task<RentedBuffer> ReadAtAsync(ObjectId id, BlobLocation loc, CancellationToken ct = default)
    {
        if (await CachedRegionAsync(loc, ct).ConfigureAwait(false) is var (region, start) && loc.Offset - start + loc.StoredLength <= region.Length)
            return Open(id, loc, region.AsSpan((int)(loc.Offset - start), loc.StoredLength));
        using var stored = new RentedBuffer(loc.StoredLength, holdsOnlyCiphertext: true);
        await StoredObjects.ReadRangeAsync(_storage, Layout.Pack(loc.PackId), loc.Offset, stored.Memory, ct).ConfigureAwait(false);
        return Open(id, loc, stored.Span);
    }

    /// <summary>Opens a blob whose stored bytes the caller already read (restore reads runs of blobs in one request), verifying it under its location's domain.</summary>
    public RentedBuffer Open(in ObjectId id, in BlobLocation loc, ReadOnlySpan<byte> stored)
    {
        var output = new RentedBuffer(loc.RawLength);
        try
        {
            var where = $"blob {id.ToShortString()} in pack {Layout.Pack(loc.PackId)}";
            BlobSealer.Open(DataKey(loc), loc.Type, id, loc.Offset, stored, loc.RawLength, output.Span, _keys.For(loc.Domain), where);
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>The cached tree pack holding the blob and the pack offset it starts at, or null to read by range.</summary>
    private async Task<(byte[] Bytes, long Start)?> CachedRegionAsync(BlobLocation loc, CancellationToken ct)
    {
        if (loc.Type != BlobType.Tree) return null;
        return await _treePacks.GetAsync(loc.PackId, ct).ConfigureAwait(false) is { } pack ? (pack, 0) : null;
    }

    /// <summary>A whole tree pack, unless it is larger than half the cache.</summary>
    private async Task<byte[]?> LoadTreePackAsync(ObjectId pack, CancellationToken ct)
    {
        var name = Layout.Pack(pack);
        var stat = await _storage.StatAsync(name, ct).ConfigureAwait(false);
        if (stat is not { } s || s.Size > _treePacks.MaxBytes / 2) return null;
        var bytes = new byte[s.Size];
        int n = await StoredObjects.ReadUpToAsync(_storage, name, 0, bytes, ct).ConfigureAwait(false);
        return n == bytes.Length ? bytes : bytes[..n];
    }

    private byte[] DataKey(in BlobLocation loc)
    {
        // Keyed by the wrapped key itself, not the pack: claims may disagree about a pack's key (a false claim wraps a
        // key of its own choosing), and one claim's key must never be used for another's blobs.
        var cacheKey = ObjectId.HashOf(loc.WrappedKey);
        if (_dataKeys.TryGetValue(cacheKey, out var k)) return k;
        var readKey = _keys.RequireReadKey("decrypt file contents or trees");
        var key = GC.AllocateArray<byte>(Aead.KeySize, pinned: true);
        if (!KeyWrap.TryUnwrap(loc.WrappedKey, readKey, key))
            throw new CorruptObjectException(Layout.Pack(loc.PackId), "its data key does not unwrap (the index entry or pack was damaged)");
        // Past the cap, use the key uncached rather than evict: another thread may be decrypting with an evicted key.
        if (_dataKeys.Count >= MaxCachedKeys) return key;
        return _dataKeys.GetOrAdd(cacheKey, key);
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
