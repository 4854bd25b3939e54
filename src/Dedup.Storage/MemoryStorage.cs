using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Dedup.Storage;

/// <summary>
/// A thread-safe in-memory store with the same semantics as <see cref="LocalStorage"/>, for fast tests.
/// Stored bytes are copied in and out, so callers cannot change an object after writing it.
/// </summary>
public sealed class MemoryStorage : IMaintenanceStorage
{
    private readonly ConcurrentDictionary<string, Entry> _objects = new(StringComparer.Ordinal);

    /// <summary>The clock used for <see cref="StoredObject.LastModified"/>; tests set a fake one.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    public string Location => "memory:";

    /// <summary>How many objects are stored.</summary>
    public int Count => _objects.Count;

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        cancellationToken.ThrowIfCancellationRequested();
        var entry = new Entry(data.ToArray(), TimeProvider.GetUtcNow());
        // TryAdd is the create-only primitive: of many concurrent writers exactly one wins.
        return Task.FromResult(_objects.TryAdd(name, entry) ? PutOutcome.Created : PutOutcome.AlreadyExists);
    }

    public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, -1);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_objects.TryGetValue(name, out var entry))
            throw new ObjectNotFoundException($"Object '{name}' does not exist in {Location}.");
        var start = (int)Math.Min(offset, entry.Data.Length);
        var count = length < 0 ? entry.Data.Length - start : (int)Math.Min(length, entry.Data.Length - start);
        return Task.FromResult<Stream>(new MemoryStream(entry.Data, start, count, writable: false));
    }

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<StoredObject?>(_objects.TryGetValue(name, out var entry)
            ? new StoredObject(name, entry.Data.Length, entry.Time)
            : null);
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        StorageNames.ValidatePrefix(prefix);
        // Enumerating a ConcurrentDictionary is safe while others write; like S3, a listing may or may
        // not include objects added meanwhile.
        foreach (var (name, entry) in _objects)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (name.StartsWith(prefix, StringComparison.Ordinal))
                yield return new StoredObject(name, entry.Data.Length, entry.Time);
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        cancellationToken.ThrowIfCancellationRequested();
        _objects.TryRemove(name, out _);
        return Task.CompletedTask;
    }

    /// <summary>Nothing is ever half-written here.</summary>
    public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
        Task.FromResult(0);

    private sealed record Entry(byte[] Data, DateTimeOffset Time);
}
