using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Dedup.Format;

namespace Dedup.Repository.Index;

/// <summary>Where a blob is stored, according to one claim (one index file's description of one pack).</summary>
/// <remarks><see cref="Claim"/> and <see cref="Entry"/> are only meaningful for the table that returned them.</remarks>
public readonly record struct BlobLocation(ObjectId PackId, BlobType Type, DomainId Domain, PackOrigin Origin, long Offset, int StoredLength, int RawLength,
    int Claim, int Entry, byte[] WrappedKey, bool Marked);

/// <summary>
/// One index file's description of one pack: which domain's blobs it holds, who vouches for it, and its wrapped data key.
/// A pack may have several claims (a writer's, a compacted copy, and possibly a false one a compromised host wrote);
/// the table keeps every distinct claim, so that none can hide another. <see cref="Marked"/>: a prune mark lists the pack.
/// </summary>
public sealed record PackClaim(ObjectId Id, BlobType Type, DomainId Domain, PackOrigin Origin, byte[] WrappedKey, bool Marked, int FirstEntry, int Count);

/// <summary>
/// The in-memory index: blob ID → every location some trusted claim gives for it, in about 54 bytes per blob. Entries
/// are 48-byte structs in segmented arrays (no per-blob objects, no huge reallocations), stored contiguously per claim;
/// an open-addressing table of int slots finds the first entry of an ID, and the rare further entries of the same ID
/// (duplicates, or competing claims) are chained in a side table. Slots are placed by XxHash3 of the ID with a
/// per-process random seed, so crafted IDs cannot force collisions. Thread-safe: lookups take a read lock, additions a
/// write lock (cheap at one lookup per chunk).
/// </summary>
public sealed unsafe partial class IndexTable
{
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct Entry
    {
        public ObjectId Id;       // 32
        public int Claim;         // 4: index into _claims
        public uint Offset;       // 4: packs are below 4 GiB
        public int Stored;        // 4
        public int Raw;           // 4
    }

    private const int SegmentBits = 16;
    private const int SegmentSize = 1 << SegmentBits;
    private readonly List<PackClaim> _claims = [];
    private readonly Dictionary<(ObjectId Pack, DomainId Domain), List<int>> _claimsByPack = [];
    private readonly HashSet<ObjectId> _packIds = [];
    private readonly Dictionary<int, int> _nextSameId = [];
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly ulong _seed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
    private int _count;

    /// <summary>Entries in the table (a blob with two locations counts twice).</summary>
    public int Count => _count;
    public int ClaimCount => _claims.Count;

    /// <summary>Bytes held per blob, for the scale figures.</summary>
    public long ApproximateBytes => (long)_segments.Count * SegmentSize * sizeof(Entry) + (long)_slotCount * 4;

    /// <summary>
    /// Adds one claim; returns its claim number. A claim identical to one already held (the same pack, domain, key and
    /// blob list: a compacted copy of a writer's claim, say) adds nothing and returns the number of the one held, but a
    /// full key's copy upgrades a writer's. Any other claim is kept beside the ones before it, however it contradicts them.
    /// </summary>
    public int AddPack(IndexPack pack, DomainId domain, bool marked = false)
    {
        _lock.EnterWriteLock();
        try
        {
            foreach (var b in pack.Blobs)
                if (b.Offset > uint.MaxValue) throw new CorruptObjectException(pack.PackId.ToString(), "offset beyond 4 GiB");
            if (_claimsByPack.TryGetValue((pack.PackId, domain), out var existing))
                foreach (int c in existing)
                    if (SameClaim(_claims[c], pack))
                    {
                        if (pack.Origin == PackOrigin.FullKey && _claims[c].Origin != PackOrigin.FullKey) _claims[c] = _claims[c] with { Origin = PackOrigin.FullKey };
                        return c;
                    }
            // Memory first (it may fail: a full disk past the resident budget), so a failure leaves the table as it was.
            EnsureCapacity(_count + pack.Blobs.Length);
            while ((long)_segments.Count << SegmentBits < (long)_count + pack.Blobs.Length) AddSegment();
            int claimNo = _claims.Count;
            _claims.Add(new PackClaim(pack.PackId, pack.Type, domain, pack.Origin, pack.WrappedKey, marked, _count, pack.Blobs.Length));
            if (existing is null) _claimsByPack[(pack.PackId, domain)] = existing = [];
            existing.Add(claimNo);
            _packIds.Add(pack.PackId);
            foreach (var b in pack.Blobs)
            {
                int n = _count++;
                At(n) = new Entry { Id = b.Id, Claim = claimNo, Offset = (uint)b.Offset, Stored = b.StoredLength, Raw = b.RawLength };
                if (FindSlot(b.Id, out int head))
                {
                    // Chain after the head: the order of further locations does not matter, Locations sorts them.
                    _nextSameId[n] = _nextSameId.TryGetValue(head, out int next) ? next : -1;
                    _nextSameId[head] = n;
                }
                else
                {
                    Insert(b.Id, n);
                }
            }
            return claimNo;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private bool SameClaim(PackClaim claim, IndexPack pack)
    {
        if (claim.Type != pack.Type || claim.Count != pack.Blobs.Length || !claim.WrappedKey.AsSpan().SequenceEqual(pack.WrappedKey)) return false;
        for (int i = 0; i < claim.Count; i++)
        {
            ref var e = ref At(claim.FirstEntry + i);
            var b = pack.Blobs[i];
            if (e.Id != b.Id || e.Offset != b.Offset || e.Stored != b.StoredLength || e.Raw != b.RawLength) return false;
        }
        return true;
    }

    private ref Entry At(int n) => ref ((Entry*)_segments[n >> SegmentBits])[n & (SegmentSize - 1)];

    private BlobLocation Location(int n)
    {
        ref var e = ref At(n);
        var c = _claims[e.Claim];
        return new BlobLocation(c.Id, c.Type, c.Domain, c.Origin, e.Offset, e.Stored, e.Raw, e.Claim, n, c.WrappedKey, c.Marked);
    }

    /// <summary>
    /// True when the blob is stored, in <paramref name="domain"/>, in a pack that is not marked for deletion. This is the
    /// dedup test: a blob that lives only in a marked pack counts as absent and is stored again (spec "Prune").
    /// </summary>
    public bool Contains(in ObjectId id, DomainId domain)
    {
        _lock.EnterReadLock();
        try
        {
            if (!FindSlot(id, out int n)) return false;
            for (; n >= 0; n = _nextSameId.TryGetValue(n, out int next) ? next : -1)
            {
                var c = _claims[At(n).Claim];
                if (c.Domain == domain && !c.Marked) return true;
            }
            return false;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// Every location of the blob in <paramref name="domain"/>, best first: packs not marked for deletion before marked
    /// ones, packs a full key stored before those only a writer claims. A reader tries them in turn until one opens.
    /// </summary>
    public List<BlobLocation> Locations(in ObjectId id, DomainId domain)
    {
        var result = new List<BlobLocation>(1);
        _lock.EnterReadLock();
        try
        {
            if (!FindSlot(id, out int n)) return result;
            for (; n >= 0; n = _nextSameId.TryGetValue(n, out int next) ? next : -1)
                if (_claims[At(n).Claim].Domain == domain) result.Add(Location(n));
        }
        finally
        {
            _lock.ExitReadLock();
        }
        if (result.Count > 1) result.Sort((a, b) => Rank(a).CompareTo(Rank(b)));
        return result;
    }

    /// <summary>The best location of the blob in <paramref name="domain"/> (see <see cref="Locations"/>), if it has one.</summary>
    public bool TryGet(in ObjectId id, DomainId domain, out BlobLocation location)
    {
        var all = Locations(id, domain);
        location = all.Count > 0 ? all[0] : default;
        return all.Count > 0;
    }

    private static int Rank(in BlobLocation l) => (l.Marked ? 2 : 0) + (l.Origin == PackOrigin.FullKey ? 0 : 1);

    /// <summary>The entry numbers (0..Count-1) of the blob in <paramref name="domain"/>, for per-entry bitmaps such as prune's used set.</summary>
    public void ForEachEntry(in ObjectId id, DomainId domain, Action<int> action)
    {
        var entries = new List<int>(1);
        _lock.EnterReadLock();
        try
        {
            if (!FindSlot(id, out int n)) return;
            for (; n >= 0; n = _nextSameId.TryGetValue(n, out int next) ? next : -1)
                if (_claims[At(n).Claim].Domain == domain) entries.Add(n);
        }
        finally
        {
            _lock.ExitReadLock();
        }
        foreach (var e in entries) action(e);
    }

    /// <summary>The location an entry number stands for.</summary>
    public BlobLocation EntryLocation(int entry)
    {
        _lock.EnterReadLock();
        try
        {
            return Location(entry);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>The ID an entry number stands for.</summary>
    public ObjectId EntryId(int entry)
    {
        _lock.EnterReadLock();
        try
        {
            return At(entry).Id;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// The claim as its index file stated it, rebuilt from the table (a claim's entries are contiguous), so that a reader
    /// that compares claims with pack headers need not keep every decoded index entry a second time.
    /// </summary>
    public IndexPack ClaimedPack(int claim)
    {
        _lock.EnterReadLock();
        try
        {
            var c = _claims[claim];
            var blobs = new IndexBlob[c.Count];
            for (int i = 0; i < blobs.Length; i++)
            {
                ref var e = ref At(c.FirstEntry + i);
                blobs[i] = new IndexBlob(e.Id, e.Offset, e.Stored, e.Raw);
            }
            return new IndexPack(c.Id, c.Type, c.WrappedKey, blobs) { Origin = c.Origin };
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public PackClaim GetClaim(int claim)
    {
        _lock.EnterReadLock();
        try
        {
            return _claims[claim];
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>True when some claim lists the pack.</summary>
    public bool ContainsPack(in ObjectId packId)
    {
        _lock.EnterReadLock();
        try
        {
            return _packIds.Contains(packId);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>A snapshot of every claim, for check and prune.</summary>
    public IReadOnlyList<PackClaim> Claims()
    {
        _lock.EnterReadLock();
        try
        {
            return _claims.ToArray();
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Every entry with its location, in entry-number order. Do not add meanwhile.</summary>
    public IEnumerable<(ObjectId Id, BlobLocation Location)> Blobs()
    {
        for (int n = 0; n < _count; n++) yield return (At(n).Id, Location(n));
    }

    private int Home(in ObjectId id)
    {
        Span<byte> b = stackalloc byte[ObjectId.Size];
        id.WriteTo(b);
        return (int)(XxHash3.HashToUInt64(b[..16], (long)_seed) & (ulong)(_slotCount - 1));
    }

    private bool FindSlot(in ObjectId id, out int entry)
    {
        int mask = _slotCount - 1;
        for (int i = Home(id); ; i = (i + 1) & mask)
        {
            int s = _slots[i];
            if (s == 0)
            {
                entry = -1;
                return false;
            }
            if (At(s - 1).Id == id)
            {
                entry = s - 1;
                return true;
            }
        }
    }

    private void Insert(in ObjectId id, int entry)
    {
        int mask = _slotCount - 1;
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
        // Keep the load factor at or below 3/4 so linear probes stay short. Chained duplicates hold no slot, but
        // sizing by entries keeps this simple and errs on the roomy side.
        if ((long)count * 4 <= (long)_slotCount * 3) return;
        long size = _slotCount;
        while (size * 3 < (long)count * 4) size *= 2;
        ReplaceSlots(checked((int)size));
        // The head of each ID is its first entry; later entries of the same ID sit in its chain and take no slot.
        for (int n = 0; n < _count; n++)
            if (!FindSlot(At(n).Id, out _)) Insert(At(n).Id, n);
    }
}
