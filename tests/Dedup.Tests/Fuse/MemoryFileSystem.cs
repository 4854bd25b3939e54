using System.Collections.Concurrent;
using Dedup.Fuse;

namespace Dedup.Tests.Fuse;

/// <summary>
/// A small file system held in memory for the binding tests: directories, files, symlinks and special files by path.
/// Every call completes asynchronously (after a yield), as the repository's reads do, so the tests exercise the
/// binding's waiting. <see cref="BeforeRead"/> lets a test act inside a read (fail it, or hold it).
/// </summary>
internal sealed class MemoryFileSystem : IReadOnlyFileSystem
{
    private readonly ConcurrentDictionary<string, (FileStat Stat, byte[]? Content, string? Target)> _nodes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, List<string>> _children = new(StringComparer.Ordinal);
    private int _openFiles;

    public static readonly long MTime = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000 + 123_456_789;

    public MemoryFileSystem() => _children["/"] = [];

    /// <summary>Runs inside every read with the path and offset, before the bytes are copied.</summary>
    public Func<string, long, CancellationToken, Task>? BeforeRead { get; set; }

    /// <summary>Files opened and not yet released.</summary>
    public int OpenFiles => Volatile.Read(ref _openFiles);

    public byte[] Content(string path) => _nodes[path].Content!;

    public void AddDirectory(string path, uint mode = 0x1ED) => Add(path, FileStat.Directory(mode, MTime, 1000, 1000), null, null);

    public void AddFile(string path, byte[] content, uint mode = 0x1A4) =>
        Add(path, new FileStat(FileKind.Regular, mode, content.Length, 1000, 1000, MTime, MTime), content, null);

    public void AddSymlink(string path, string target) => Add(path, FileStat.Symlink(target, MTime), null, target);

    public void AddSpecial(string path, FileKind kind, ulong device = 0) =>
        Add(path, new FileStat(kind, 0x1A4, 0, 0, 0, MTime, MTime, device), null, null);

    private void Add(string path, FileStat stat, byte[]? content, string? target)
    {
        var parent = path[..Math.Max(1, path.LastIndexOf('/'))];
        var siblings = _children[parent];
        lock (siblings) siblings.Add(path[(path.LastIndexOf('/') + 1)..]);
        _nodes[path] = (stat, content, target);
        if (stat.Kind == FileKind.Directory) _children[path] = [];
    }

    public async ValueTask<FileStat?> GetAttributesAsync(string path, CancellationToken ct)
    {
        await Task.Yield();
        if (path == "/") return FileStat.Directory(0x1ED, MTime);
        return _nodes.TryGetValue(path, out var n) ? n.Stat : null;
    }

    public async ValueTask<IReadOnlyList<DirectoryEntry>?> ReadDirectoryAsync(string path, CancellationToken ct)
    {
        await Task.Yield();
        if (!_children.TryGetValue(path, out var names)) return _nodes.ContainsKey(path) ? throw new FuseErrorException(Errno.ENOTDIR, "not a directory") : null;
        lock (names)
            return names.Select(n => new DirectoryEntry(n, _nodes[(path == "/" ? "" : path) + "/" + n].Stat)).ToList();
    }

    public async ValueTask<string?> ReadLinkAsync(string path, CancellationToken ct)
    {
        await Task.Yield();
        return _nodes.TryGetValue(path, out var n) ? n.Target ?? throw new FuseErrorException(Errno.EINVAL, "not a link") : null;
    }

    public async ValueTask<IReadableFile?> OpenAsync(string path, CancellationToken ct)
    {
        await Task.Yield();
        if (!_nodes.TryGetValue(path, out var n)) return null;
        if (n.Content is null) throw new FuseErrorException(Errno.EISDIR, "not a file");
        Interlocked.Increment(ref _openFiles);
        return new File(this, path, n.Content);
    }

    public FileSystemStats GetStats() => new(_nodes.Values.Sum(n => n.Stat.Size), _nodes.Count);

    private sealed class File(MemoryFileSystem fs, string path, byte[] content) : IReadableFile
    {
        private int _disposed;

        public async ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
        {
            await Task.Yield();
            if (fs.BeforeRead is { } hook) await hook(path, offset, ct);
            if (offset >= content.Length) return 0;
            int n = (int)Math.Min(buffer.Length, content.Length - offset);
            content.AsMemory((int)offset, n).CopyTo(buffer);
            return n;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) Interlocked.Decrement(ref fs._openFiles);
        }
    }
}
