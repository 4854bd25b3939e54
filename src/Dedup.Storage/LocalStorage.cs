using System.IO.Enumeration;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Dedup.Storage;

/// <summary>
/// Objects as files under a root folder. Writes go to a temporary file in the target directory,
/// are fsynced, then linked into place without replacing, so a crash never leaves a partial object
/// under its final name.
/// </summary>
public sealed class LocalStorage : IMaintenanceStorage
{
    /// <summary>Marks in-progress files: "name.tmp-" + 16 hex digits. Names containing it are rejected.</summary>
    internal const string TempMarker = ".tmp-";

    private const int Enospc = 28;
    private const int Edquot = 122;

    private readonly string _root;
    private readonly TimeProvider _time;

    public LocalStorage(string root, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        _time = timeProvider ?? TimeProvider.System;
    }

    public string Location => _root;

    public async Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var path = PathOf(name);
        cancellationToken.ThrowIfCancellationRequested();
        if (File.Exists(path))
            return PutOutcome.AlreadyExists;
        var directory = Path.GetDirectoryName(path)!;
        var temp = path + TempMarker + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        try
        {
            Directory.CreateDirectory(directory);
            using (var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                await RandomAccess.WriteAsync(handle, data, 0, cancellationToken).ConfigureAwait(false);
                // The data must be on disk before the name points at it, or a crash could expose garbage.
                RandomAccess.FlushToDisk(handle);
            }
            // Atomic and create-only, so of many concurrent writers exactly one wins.
            if (!ExclusiveRename.TryMove(temp, path))
            {
                TryDelete(temp);
                return PutOutcome.AlreadyExists;
            }
            // Makes the new directory entry durable; without it a crash could lose a "written" object.
            DirectorySync.Flush(directory);
            return PutOutcome.Created;
        }
        catch (Exception e)
        {
            TryDelete(temp);
            throw Map(e, "put", name);
        }
    }

    public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, -1);
        var path = PathOf(name);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete,
                bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
            stream.Position = Math.Min(offset, stream.Length);
            return Task.FromResult<Stream>(length < 0 ? stream : new BoundedReadStream(stream, length));
        }
        catch (Exception e)
        {
            throw Map(e, "read", name);
        }
    }

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default)
    {
        var path = PathOf(name);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var info = new FileInfo(path);
            return Task.FromResult<StoredObject?>(info.Exists
                ? new StoredObject(name, info.Length, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero))
                : null);
        }
        catch (Exception e)
        {
            throw Map(e, "stat", name);
        }
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        StorageNames.ValidatePrefix(prefix);
        // Walk the deepest directory the prefix names fully; filter the rest of it by name.
        var slash = prefix.LastIndexOf('/');
        var start = slash < 0 ? _root : Path.Combine(_root, prefix[..slash]);
        if (!Directory.Exists(start))
            yield break;
        var rootLength = _root.Length + 1;
        var entries = new FileSystemEnumerable<StoredObject>(start,
            (ref FileSystemEntry e) => new StoredObject(
                e.ToFullPath()[rootLength..].Replace(Path.DirectorySeparatorChar, '/'),
                e.Length, e.LastWriteTimeUtc),
            new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = 0 })
        {
            // Temp files are never objects: they are either in flight or left by a killed process.
            ShouldIncludePredicate = (ref FileSystemEntry e) => !e.IsDirectory && !IsTemp(e.FileName),
        };
        using var enumerator = entries.GetEnumerator();
        var seen = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            StoredObject current;
            try
            {
                if (!enumerator.MoveNext())
                    yield break;
                current = enumerator.Current;
            }
            catch (Exception e) when (e is not StorageException)
            {
                throw Map(e, "list", prefix);
            }
            if (current.Name.StartsWith(prefix, StringComparison.Ordinal))
                yield return current;
            // The walk is synchronous; yielding now and then keeps a huge listing from hogging a thread.
            if (++seen % 256 == 0)
                await Task.Yield();
        }
    }

    public Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        var path = PathOf(name);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
            // Absent is fine.
        }
        catch (Exception e)
        {
            throw Map(e, "delete", name);
        }
        return Task.CompletedTask;
    }

    public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(_root))
            return Task.FromResult(0);
        var cutoff = _time.GetUtcNow() - olderThan;
        var stale = new FileSystemEnumerable<string>(_root,
            (ref FileSystemEntry e) => e.ToFullPath(),
            new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 })
        {
            ShouldIncludePredicate = (ref FileSystemEntry e) =>
                !e.IsDirectory && IsTemp(e.FileName) && e.LastWriteTimeUtc < cutoff,
        };
        var count = 0;
        try
        {
            foreach (var path in stale)
            {
                cancellationToken.ThrowIfCancellationRequested();
                File.Delete(path);
                count++;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Map(e, "abort-uploads", "");
        }
        return Task.FromResult(count);
    }

    internal static bool IsTemp(ReadOnlySpan<char> fileName) => fileName.Contains(TempMarker, StringComparison.Ordinal);

    private string PathOf(string name)
    {
        StorageNames.Validate(name);
        if (IsTemp(name))
            throw new ArgumentException($"Object name '{name}' contains '{TempMarker}', reserved for temporary files.", nameof(name));
        return Path.Combine(_root, name);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // AbortIncompleteUploadsAsync removes what is left.
        }
    }

    /// <summary>Turns file-system errors into storage errors; messages name the object, not the errno text alone.</summary>
    private Exception Map(Exception e, string operation, string name)
    {
        var where = $"'{name}' in {_root}";
        return e switch
        {
            StorageException or OperationCanceledException or ArgumentException => e,
            FileNotFoundException or DirectoryNotFoundException =>
                new ObjectNotFoundException($"Object {where} does not exist.", e),
            UnauthorizedAccessException =>
                new StorageAccessDeniedException($"Permission denied to {operation} {where}.", e) { Operation = operation },
            IOException io when io.HResult is Enospc or Edquot =>
                new StorageFullException($"No space left to {operation} {where}: the disk or quota is full.", e),
            IOException io => new StorageException($"Could not {operation} {where}: {io.Message}", e),
            _ => e,
        };
    }
}
