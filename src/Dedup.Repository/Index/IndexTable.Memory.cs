using System.Globalization;
using System.IO.MemoryMappedFiles;

namespace Dedup.Repository.Index;

/// <summary>
/// Where the table's entries and hash slots live. Up to a resident budget they are pinned managed arrays; past it, new
/// segments (and a slot table that outgrows the budget) are pages of temporary files mapped into memory, which the
/// kernel writes out and drops under memory pressure. So the memory the table needs is bounded by the budget and the
/// pages in use, not by the repository: an admin host with 4 GiB can hold the index of ~100M blobs (5–6 GiB of table,
/// see docs/performance.md "Scale"). The budget is a quarter of the memory the runtime may use (which honours cgroup
/// limits), or DEDUP_INDEX_MEMORY (a size: 512M, 2G, 0 to spill everything).
/// The files are created in DEDUP_INDEX_SPILL_DIR or the temporary folder, with their whole size allocated up front, so
/// a full disk is an error when the table grows, never a fault when the kernel writes a page back; and each is unlinked
/// at once, so the kernel frees it when the process ends, however it ends.
/// </summary>
public sealed unsafe partial class IndexTable : IDisposable
{
    /// <summary>Segments per spill file: 16 × 3 MiB, so a table of 100M blobs needs ~100 files, not thousands.</summary>
    private const int SegmentsPerExtent = 16;

    private readonly long _residentBudget;
    private readonly string _spillFolder;
    private long _residentBytes;
    private readonly List<nint> _segments = [];
    private readonly List<Array> _pinned = []; // keeps the resident segments (and slots) alive; they are pinned
    private readonly List<SpillExtent> _extents = [];
    private int _extentFree; // segments still free in the last extent
    private int* _slots;
    private int _slotCount;
    private int[]? _residentSlots;
    private SpillExtent? _spilledSlots;

    /// <summary>A table whose resident part is bounded by DEDUP_INDEX_MEMORY or a quarter of the available memory.</summary>
    public IndexTable() : this(ResidentBudget(Environment.GetEnvironmentVariable("DEDUP_INDEX_MEMORY")), Environment.GetEnvironmentVariable("DEDUP_INDEX_SPILL_DIR"))
    {
    }

    /// <summary>
    /// A table that keeps at most <paramref name="residentBudgetBytes"/> of entries and slots in managed memory and the rest
    /// in files in <paramref name="spillFolder"/> (null or empty: the temporary folder).
    /// </summary>
    internal IndexTable(long residentBudgetBytes, string? spillFolder = null)
    {
        _residentBudget = residentBudgetBytes;
        _spillFolder = string.IsNullOrEmpty(spillFolder) ? Path.GetTempPath() : spillFolder;
        ReplaceSlots(1024);
    }

    /// <summary>Bytes of the table held in temporary files instead of managed memory.</summary>
    public long SpilledBytes => _extents.Sum(e => e.Bytes) + (_spilledSlots?.Bytes ?? 0);

    private static long SegmentBytes => (long)SegmentSize * sizeof(Entry);

    private void AddSegment()
    {
        if (_residentBytes + SegmentBytes <= _residentBudget)
        {
            var segment = GC.AllocateArray<Entry>(SegmentSize, pinned: true);
            _pinned.Add(segment);
            _residentBytes += SegmentBytes;
            fixed (Entry* p = segment) _segments.Add((nint)p); // pinned: the address stays valid after 'fixed'
            return;
        }
        if (_extentFree == 0)
        {
            _extents.Add(SpillExtent.Create(_spillFolder, SegmentBytes * SegmentsPerExtent));
            _extentFree = SegmentsPerExtent;
        }
        var extent = _extents[^1];
        _segments.Add((nint)(extent.Pointer + SegmentBytes * (SegmentsPerExtent - _extentFree)));
        _extentFree--;
    }

    /// <summary>
    /// Gives the table a fresh, zeroed slot table of <paramref name="count"/> slots; the caller re-inserts. The new table
    /// is allocated before the old one is released, so a failure (a full disk) leaves the old one in place.
    /// </summary>
    private void ReplaceSlots(int count)
    {
        long bytes = (long)count * sizeof(int);
        long residentWithout = _residentBytes - (_residentSlots is null ? 0 : (long)_residentSlots.Length * sizeof(int));
        int[]? resident = null;
        SpillExtent? spilled = null;
        if (residentWithout + bytes <= _residentBudget || count <= 1024) resident = GC.AllocateArray<int>(count, pinned: true);
        else spilled = SpillExtent.Create(_spillFolder, bytes);
        _spilledSlots?.Dispose();
        _residentSlots = resident;
        _spilledSlots = spilled;
        _residentBytes = residentWithout + (resident is null ? 0 : bytes);
        if (resident is not null)
            fixed (int* p = resident) _slots = p; // pinned: the address stays valid after 'fixed'
        else
            _slots = (int*)spilled!.Pointer;
        _slotCount = count;
    }

    public void Dispose()
    {
        _lock.EnterWriteLock();
        try
        {
            // Emptied rather than left dangling: a lookup after Dispose finds nothing instead of reading unmapped pages.
            foreach (var e in _extents) e.Dispose();
            _extents.Clear();
            _extentFree = 0;
            _spilledSlots?.Dispose();
            _spilledSlots = null;
            _residentSlots = null;
            _segments.Clear();
            _pinned.Clear();
            _count = 0;
            _claims.Clear();
            _claimsByPack.Clear();
            _packIds.Clear();
            _nextSameId.Clear();
            _residentBytes = 0;
            ReplaceSlots(1024);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>The resident budget for a DEDUP_INDEX_MEMORY setting: unset or empty is a quarter of the available memory.</summary>
    internal static long ResidentBudget(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4;
        return ParseSize(text) ?? throw new ArgumentException($"DEDUP_INDEX_MEMORY is '{text}': give a size such as 512M or 2G (0 keeps the whole index in temporary files)");
    }

    /// <summary>A byte count with an optional binary suffix (K, M, G, T), or null.</summary>
    internal static long? ParseSize(string text)
    {
        text = text.Trim();
        long unit = 1;
        if (text.Length > 0 && "KMGT".IndexOf(char.ToUpperInvariant(text[^1])) is int i and >= 0)
        {
            unit = 1L << (10 * (i + 1));
            text = text[..^1];
        }
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n <= long.MaxValue / unit ? n * unit : null;
    }

    /// <summary>One temporary file, allocated whole, unlinked, and mapped read-write.</summary>
    private sealed class SpillExtent : IDisposable
    {
        private readonly MemoryMappedFile _map;
        private readonly MemoryMappedViewAccessor _view;

        private SpillExtent(MemoryMappedFile map, MemoryMappedViewAccessor view, byte* pointer, long bytes)
        {
            _map = map;
            _view = view;
            Pointer = pointer;
            Bytes = bytes;
        }

        public byte* Pointer { get; }
        public long Bytes { get; }

        public static SpillExtent Create(string folder, long bytes)
        {
            string path = Path.Join(folder, $"dedup-index-{Guid.NewGuid():N}.tmp");
            FileStream file;
            try
            {
                // PreallocationSize allocates the blocks now (posix_fallocate): a full disk fails here, with this message,
                // rather than as SIGBUS when a dirty page cannot be written back.
                file = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite | FileShare.Delete,
                    PreallocationSize = bytes,
                    // Private from the first instant: another user who opened it before the unlink could read the index
                    // (spec threat 41). Without it the mode would be 0666 less the umask.
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
            }
            catch (IOException e)
            {
                throw new IOException($"the index does not fit in memory and {bytes >> 20} MiB more of it cannot be stored in {folder} ({e.Message}); "
                                      + "free space there, or set DEDUP_INDEX_SPILL_DIR to a folder with room", e);
            }
            try
            {
                File.Delete(path);
                if (file.Length < bytes) file.SetLength(bytes);
                var map = MemoryMappedFile.CreateFromFile(file, null, bytes, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
                var view = map.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.ReadWrite);
                byte* p = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
                return new SpillExtent(map, view, p + view.PointerOffset, bytes);
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _map.Dispose();
        }
    }
}
