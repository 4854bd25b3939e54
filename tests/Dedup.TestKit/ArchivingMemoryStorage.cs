using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Dedup.Storage;

namespace Dedup.TestKit;

/// <summary>
/// A memory store with AWS archive semantics on a clock the test controls: objects put with
/// <see cref="PutHint.RarelyRead"/> (or every pack, after <see cref="FreezeAllPacksAsync"/>: spec threat 39's patched client)
/// are in GLACIER and unreadable, with <see cref="ObjectArchivedException"/>, until a retrieval request and then
/// <see cref="ThawAfter"/> of that object have passed. So a reader that reads a pack before it thawed fails.
/// </summary>
public sealed class ArchivingMemoryStorage(TimeProvider clock) : IMaintenanceStorage, IArchiveStorage
{
    private readonly MemoryStorage _inner = new();
    private readonly ConcurrentDictionary<string, byte> _cold = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _readyAt = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);

    /// <summary>The store underneath, readable whatever the classes: for the test's own ground truth.</summary>
    public MemoryStorage Inner => _inner;

    /// <summary>
    /// Moves every pack to GLACIER, tree packs included: what spec threat 39's patched client does on every put (here
    /// after the backups, the same end state, so that the test's own backups can still read their parent trees).
    /// </summary>
    public async Task FreezeAllPacksAsync()
    {
        await foreach (var o in _inner.ListAsync("data/").ConfigureAwait(false)) _cold.TryAdd(o.Name, 0);
    }

    /// <summary>How long a retrieval of the named object takes; 5 hours (GLACIER standard) unless the test says.</summary>
    public Func<string, TimeSpan> ThawAfter { get; set; } = _ => TimeSpan.FromHours(5);

    /// <summary>The archived objects, in name order.</summary>
    public IReadOnlyList<string> Cold => [.. _cold.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Retrieval requests per object name.</summary>
    public IReadOnlyDictionary<string, int> Requests => _requests;

    /// <summary>Moves an object back to the default class (a test's "this pack is hot").</summary>
    public void Heat(string name) => _cold.TryRemove(name, out _);

    public string Location => "archiving-memory:";

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        PutAsync(name, data, PutHint.None, cancellationToken);

    public async Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, PutHint hint, CancellationToken cancellationToken = default)
    {
        var outcome = await _inner.PutAsync(name, data, cancellationToken).ConfigureAwait(false);
        if (outcome == PutOutcome.Created && hint == PutHint.RarelyRead) _cold.TryAdd(name, 0);
        return outcome;
    }

    public async Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        if (!State(name, 0).Readable)
            throw new ObjectArchivedException($"{Location} '{name}' is in the archive storage class GLACIER and has no retrieved copy to read; request its retrieval first.",
                name, "GLACIER");
        return await _inner.OpenReadAsync(name, offset, length, cancellationToken).ConfigureAwait(false);
    }

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) => _inner.StatAsync(name, cancellationToken);

    public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) => _inner.ListAsync(prefix, cancellationToken);

    public Task DeleteAsync(string name, CancellationToken cancellationToken = default) => _inner.DeleteAsync(name, cancellationToken);

    public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
        _inner.AbortIncompleteUploadsAsync(olderThan, cancellationToken);

    public async Task<ArchiveState> GetArchiveStateAsync(string name, CancellationToken cancellationToken = default)
    {
        var stored = await _inner.StatAsync(name, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException($"'{name}' does not exist");
        return State(name, stored.Size);
    }

    public Task RequestRestoreAsync(string name, RetrievalTier tier, int days, CancellationToken cancellationToken = default)
    {
        if (_cold.ContainsKey(name))
        {
            _requests.AddOrUpdate(name, 1, (_, n) => n + 1);
            _readyAt.TryAdd(name, clock.GetUtcNow() + ThawAfter(name)); // a second request while one runs changes nothing
        }
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<(StoredObject Object, string StorageClass)> ListNonDefaultClassAsync(string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var o in _inner.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
            if (_cold.ContainsKey(o.Name)) yield return (o, "GLACIER");
    }

    private ArchiveState State(string name, long size)
    {
        if (!_cold.ContainsKey(name)) return new ArchiveState(ArchiveStatus.Hot, null, size);
        if (!_readyAt.TryGetValue(name, out var ready)) return new ArchiveState(ArchiveStatus.Archived, "GLACIER", size);
        return clock.GetUtcNow() >= ready
            ? new ArchiveState(ArchiveStatus.Restored, "GLACIER", size, ready + TimeSpan.FromDays(7))
            : new ArchiveState(ArchiveStatus.Restoring, "GLACIER", size);
    }
}
