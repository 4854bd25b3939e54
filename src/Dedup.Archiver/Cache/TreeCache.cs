using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dedup.Format;
using Microsoft.Win32.SafeHandles;

namespace Dedup.Archiver.Cache;

/// <summary>The parent a cache remembers: the last snapshot written for one host and path set.</summary>
public sealed record CachedParent(string Snapshot, IReadOnlyList<string> Tree, DateTimeOffset Time);

/// <summary>Source-generated, so the ahead-of-time compiled binary needs no reflection to read the cache.</summary>
[JsonSerializable(typeof(CachedParent))]
internal sealed partial class CacheJson : JsonSerializerContext;

/// <summary>
/// The plaintext tree blobs of the last snapshot of one (host, paths), kept on the backup host. It lets a write-only
/// key, which cannot decrypt trees in the repository, skip unchanged files; with a full key it saves fetching parent
/// trees from remote storage. It holds only metadata of the host's own files, in a 0700 folder. Every tree read back
/// is checked against its keyed ID, so a damaged cache costs re-reading files, never a wrong snapshot. Any cache I/O
/// error disables the cache for the run rather than failing the backup.
/// Layout: BASE/&lt;repository id&gt;/&lt;sha256(host, paths)&gt;/{current,next}/{parent.json, trees.bin}, where
/// trees.bin is a sequence of records (32-byte blob ID, 4-byte little-endian length, tree bytes). One appended file
/// rather than a file per tree: a run then costs two file creations and one removal, not three per directory
/// (a no-change backup of 2,672 directories spent more time in the cache's file creations than in its walk).
/// </summary>
public sealed class TreeCache : IDisposable
{
    private const int RecordHeader = ObjectId.Size + 4;
    private const int MaxTree = 64 * 1024 * 1024; // a record longer than any tree blob means the file is damaged

    private readonly string _current, _next;
    private readonly Func<ReadOnlySpan<byte>, ObjectId> _blobId;
    private readonly Lock _lock = new();
    private readonly HashSet<ObjectId> _written = [];
    private FileStream? _out;
    private SafeFileHandle? _in;
    private Dictionary<ObjectId, (long Offset, int Length)>? _locations;
    private bool _broken;
    private bool _readOnly;

    private TreeCache(string dir, Func<ReadOnlySpan<byte>, ObjectId> blobId)
    {
        _current = Path.Join(dir, "current");
        _next = Path.Join(dir, "next");
        _blobId = blobId;
    }

    /// <summary>The default base folder: DEDUP_CACHE_DIR, else $XDG_CACHE_HOME/dedup, else ~/.cache/dedup.</summary>
    public static string DefaultBase() =>
        Environment.GetEnvironmentVariable("DEDUP_CACHE_DIR") is { Length: > 0 } d ? d
        : Path.Join(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
            : Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "dedup");

    /// <summary>
    /// Opens the cache of one (host, paths); null when it cannot be used. <paramref name="readOnly"/> (a dry run) only
    /// reads the cached parent and changes nothing on disk.
    /// </summary>
    public static TreeCache? Open(string baseDir, ObjectId repositoryId, string host, IReadOnlyList<string> paths, Func<ReadOnlySpan<byte>, ObjectId> blobId,
        bool readOnly = false)
    {
        try
        {
            var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(host + "\0" + string.Join("\0", paths))));
            var dir = Path.Join(baseDir, repositoryId.ToString(), key);
            if (readOnly) return Directory.Exists(dir) ? new TreeCache(dir, blobId) { _readOnly = true } : null;
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var cache = new TreeCache(dir, blobId);
            if (Directory.Exists(cache._next)) Directory.Delete(cache._next, true); // left by an interrupted run
            Directory.CreateDirectory(cache._next);
            cache._out = new FileStream(Path.Join(cache._next, "trees.bin"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            return cache;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public CachedParent? Parent
    {
        get
        {
            try
            {
                var file = Path.Join(_current, "parent.json");
                return File.Exists(file) ? JsonSerializer.Deserialize(File.ReadAllBytes(file), CacheJson.Default.CachedParent) : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
                return null;
            }
        }
    }

    /// <summary>A tree blob of the cached parent, verified against its ID; null when absent or damaged.</summary>
    public byte[]? TryRead(in ObjectId id)
    {
        try
        {
            (long Offset, int Length) at;
            lock (_lock)
            {
                _locations ??= LoadLocations();
                if (!_locations.TryGetValue(id, out at) || _in is null) return null;
            }
            var bytes = new byte[at.Length];
            if (RandomAccess.Read(_in, bytes, at.Offset) != bytes.Length) return null;
            return _blobId(bytes) == id ? bytes : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Where each record of the current trees.bin is; a damaged tail ends the scan (its trees are then absent).</summary>
    private Dictionary<ObjectId, (long, int)> LoadLocations()
    {
        var found = new Dictionary<ObjectId, (long, int)>();
        var file = Path.Join(_current, "trees.bin");
        if (!File.Exists(file)) return found;
        _in = File.OpenHandle(file);
        long length = RandomAccess.GetLength(_in), offset = 0;
        Span<byte> header = stackalloc byte[RecordHeader];
        while (offset + RecordHeader <= length && RandomAccess.Read(_in, header, offset) == RecordHeader)
        {
            int size = BinaryPrimitives.ReadInt32LittleEndian(header[ObjectId.Size..]);
            if (size < 0 || size > MaxTree || offset + RecordHeader + size > length) break;
            found.TryAdd(new ObjectId(header[..ObjectId.Size]), (offset + RecordHeader, size));
            offset += RecordHeader + size;
        }
        return found;
    }

    public void Write(in ObjectId id, ReadOnlySpan<byte> tree)
    {
        lock (_lock)
        {
            if (_broken || _out is null || !_written.Add(id)) return;
            try
            {
                Span<byte> header = stackalloc byte[RecordHeader];
                id.WriteTo(header);
                BinaryPrimitives.WriteInt32LittleEndian(header[ObjectId.Size..], tree.Length);
                _out.Write(header);
                _out.Write(tree);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _broken = true;
            }
        }
    }

    /// <summary>Makes the trees written in this run the cached parent, once the snapshot is stored.</summary>
    public void Commit(CachedParent parent)
    {
        lock (_lock)
        {
            CloseFiles();
            if (_broken || _readOnly) return;
            try
            {
                File.WriteAllBytes(Path.Join(_next, "parent.json"), JsonSerializer.SerializeToUtf8Bytes(parent, CacheJson.Default.CachedParent));
                var old = _current + ".old";
                if (Directory.Exists(old)) Directory.Delete(old, true);
                if (Directory.Exists(_current)) Directory.Move(_current, old);
                Directory.Move(_next, _current);
                if (Directory.Exists(old)) Directory.Delete(old, true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _broken = true;
            }
        }
    }

    private void CloseFiles()
    {
        try
        {
            _out?.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _broken = true;
        }
        _out = null;
        _in?.Dispose();
        _in = null;
        _locations = null;
    }

    public void Dispose()
    {
        lock (_lock) CloseFiles();
    }
}
