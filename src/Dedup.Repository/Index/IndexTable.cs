using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Dedup.Format;

namespace Dedup.Repository.Index;

/// <summary>Where a blob is stored.</summary>
/// <remarks><see cref="PackIndex"/> is only meaningful for the table that returned it; <see cref="WrappedKey"/> travels with the location.</remarks>
public readonly record struct BlobLocation(ObjectId PackId, BlobType Type, long Offset, int StoredLength, int RawLength, int PackIndex, byte[] WrappedKey);

/// <summary>A pack as the in-memory index knows it. A marked pack is scheduled for deletion by prune.</summary>
public sealed record PackInfo(ObjectId Id, BlobType Type, byte[] WrappedKey, bool Marked);

/// <summary>
/// The in-memory index: blob ID → location, in about 54 bytes per blob. Entries are 48-byte structs in
/// segmented arrays (no per-blob objects, no huge reallocations); an open-addressing table of int slots
/// finds them. Slots are placed by XxHash3 of the ID with a per-process random seed, so crafted IDs cannot
/// force collisions. Thread-safe: lookups take a read lock, additions a write lock (cheap at one lookup per chunk).
/// </summary>
public sealed class IndexTable
{
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct Entry
    {
        public ObjectId Id;       // 32
        public int Pack;          // 4: index into _packs
        public uint Offset;       // 4: packs are below 4 GiB
        public int Stored;        // 4
        public int Raw;           // 4
    }

    private const int SegmentBits = 16;
    private const int SegmentSize = 1 << SegmentBits;
    private readonly List<Entry[]> _segments = [];
    private readonly List<PackInfo> _packs = [];
    private readonly Dictionary<ObjectId, int> _packIndex = [];
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly ulong _seed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
    private int[] _slots = new int[1024]; // entry number + 1; 0 = empty
    private int _count;

    public int Count => _count;
    public int PackCount => _packs.Count;

    /// <summary>Bytes held per blob, for the scale figures.</summary>
    public long ApproximateBytes => (long)_segments.Count * SegmentSize * Marshal.SizeOf<Entry>() + (long)_slots.Length * 4;

    /// <summary>
    /// Adds a pack's blobs; returns how many were new. A blob already present keeps its first location, except that
    /// a location in an unmarked pack replaces one in a marked pack, so lookups prefer packs prune will keep.
    /// </summary>
    public int AddPack(IndexPack pack, bool marked = false)
    {
        _lock.EnterWriteLock();
        try
        {
            if (_packIndex.ContainsKey(pack.PackId)) return 0;
            if (pack.Blobs.Length > 0 && pack.Blobs[^1].Offset > uint.MaxValue) throw new CorruptObjectException(pack.PackId.ToString(), "offset beyond 4 GiB");
            int packNo = _packs.Count;
            _packs.Add(new PackInfo(pack.PackId, pack.Type, pack.WrappedKey, marked));
            _packIndex.Add(pack.PackId, packNo);
            int added = 0;
            foreach (var b in pack.Blobs)
            {
                if (b.Offset > uint.MaxValue) throw new CorruptObjectException(pack.PackId.ToString(), "offset beyond 4 GiB");
                if (FindSlot(b.Id, out int existing))
                {
                    ref var old = ref _segments[existing >> SegmentBits][existing & (SegmentSize - 1)];
                    if (!marked && _packs[old.Pack].Marked)
                        old = new Entry { Id = b.Id, Pack = packNo, Offset = (uint)b.Offset, Stored = b.StoredLength, Raw = b.RawLength };
                    continue;
                }
                EnsureCapacity(_count + 1);
                int n = _count++;
                if ((n >> SegmentBits) == _segments.Count) _segments.Add(new Entry[SegmentSize]);
                ref var e = ref _segments[n >> SegmentBits][n & (SegmentSize - 1)];
                e = new Entry { Id = b.Id, Pack = packNo, Offset = (uint)b.Offset, Stored = b.StoredLength, Raw = b.RawLength };
                Insert(b.Id, n);
                added++;
            }
            return added;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// True when the blob is stored in a pack that is not marked for deletion. This is the dedup test: a blob that
    /// lives only in a marked pack counts as absent and is stored again (spec "Prune").
    /// </summary>
    public bool Contains(in ObjectId id)
    {
        _lock.EnterReadLock();
        try
        {
            return FindSlot(id, out int n) && !_packs[_segments[n >> SegmentBits][n & (SegmentSize - 1)].Pack].Marked;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>The entry number of a blob (0..Count-1), for compact per-blob bitmaps such as prune's used set.</summary>
    public bool TryGetEntryNumber(in ObjectId id, out int entry)
    {
        _lock.EnterReadLock();
        try
        {
            return FindSlot(id, out entry);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Finds a blob wherever it is stored, marked packs included (they stay readable until deleted).</summary>
    public bool TryGet(in ObjectId id, out BlobLocation location)
    {
        _lock.EnterReadLock();
        try
        {
            if (!FindSlot(id, out int n))
            {
                location = default;
                return false;
            }
            ref var e = ref _segments[n >> SegmentBits][n & (SegmentSize - 1)];
            var p = _packs[e.Pack];
            location = new BlobLocation(p.Id, p.Type, e.Offset, e.Stored, e.Raw, e.Pack, p.WrappedKey);
            return true;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public PackInfo GetPack(int packIndex)
    {
        _lock.EnterReadLock();
        try
        {
            return _packs[packIndex];
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public bool ContainsPack(in ObjectId packId)
    {
        _lock.EnterReadLock();
        try
        {
            return _packIndex.ContainsKey(packId);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>A snapshot of the known packs, for check and prune.</summary>
    public IReadOnlyList<PackInfo> Packs()
    {
        _lock.EnterReadLock();
        try
        {
            return _packs.ToArray();
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Every blob with its location. Holds the read lock while enumerating; do not add meanwhile.</summary>
    public IEnumerable<(ObjectId Id, BlobLocation Location)> Blobs()
    {
        for (int n = 0; n < _count; n++)
        {
            var e = _segments[n >> SegmentBits][n & (SegmentSize - 1)];
            var p = _packs[e.Pack];
            yield return (e.Id, new BlobLocation(p.Id, p.Type, e.Offset, e.Stored, e.Raw, e.Pack, p.WrappedKey));
        }
    }

    private int Home(in ObjectId id)
    {
        Span<byte> b = stackalloc byte[ObjectId.Size];
        id.WriteTo(b);
        return (int)(XxHash3.HashToUInt64(b[..16], (long)_seed) & (ulong)(_slots.Length - 1));
    }

    private bool FindSlot(in ObjectId id, out int entry)
    {
        int mask = _slots.Length - 1;
        for (int i = Home(id); ; i = (i + 1) & mask)
        {
            int s = _slots[i];
            if (s == 0)
            {
                entry = -1;
                return false;
            }
            if (_segments[(s - 1) >> SegmentBits][(s - 1) & (SegmentSize - 1)].Id == id)
            {
                entry = s - 1;
                return true;
            }
        }
    }

    private void Insert(in ObjectId id, int entry)
    {
        int mask = _slots.Length - 1;
        int i = Home(id);
        while (_slots[i] != 0) i = (i + 1) & mask;
        _slots[i] = entry + 1;
    }

    /// <summary>Sizes the table for about this many blobs up front, so a large load does not rehash as it grows.</summary>
    public void Reserve(int expectedBlobs)
    {
        _lock.EnterWriteLock();
        try
        {
            EnsureCapacity(Math.Max(_count, expectedBlobs));
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private void EnsureCapacity(int count)
    {
        // Keep the load factor at or below 3/4 so linear probes stay short.
        if ((long)count * 4 <= (long)_slots.Length * 3) return;
        long size = _slots.Length;
        while (size * 3 < (long)count * 4) size *= 2;
        _slots = new int[size];
        for (int n = 0; n < _count; n++) Insert(_segments[n >> SegmentBits][n & (SegmentSize - 1)].Id, n);
    }
}
