using System.Collections.Concurrent;
using Dedup.Storage;

namespace Dedup.TestKit;

/// <summary>
/// Archive semantics in memory, for unit tests of cold storage (the S3 tests use ArchiveEmulatingStorage on the real
/// server): objects the test moves to <see cref="Archive"/> are unreadable (<see cref="ObjectArchivedException"/>) until a
/// retrieval request and then the delay <see cref="ThawAfter"/> gives for that name on <paramref name="clock"/>. Counts
/// whole reads (from offset 0) and retrieval requests per name, so tests can assert what was read and asked for.
/// </summary>
public sealed class InMemoryArchive(IMaintenanceStorage inner, TimeProvider clock) : IMaintenanceStorage, IArchiveStorage
{
    private readonly ConcurrentDictionary<string, DateTimeOffset?> _archived = new(StringComparer.Ordinal); // null: no request yet
    private readonly ConcurrentDictionary<string, int> _reads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);

    /// <summary>How long a retrieval of the name takes (default 5 hours, the standard tier's upper time).</summary>
    public Func<string, TimeSpan> ThawAfter { get; set; } = _ => TimeSpan.FromHours(5);

    public string Location => inner.Location;

    /// <summary>Moves the objects to the archive class (as a lifecycle rule would).</summary>
    public void Archive(IEnumerable<string> names)
    {
        foreach (var n in names) _archived[n] = null;
    }

    /// <summary>Whole reads (offset 0) of the name that succeeded.</summary>
    public int Reads(string name) => _reads.GetValueOrDefault(name);

    /// <summary>The names a retrieval was requested for (each once, however often asked).</summary>
    public IReadOnlySet<string> Requested => _requests.Keys.ToHashSet(StringComparer.Ordinal);

    public int RequestCount(string name) => _requests.GetValueOrDefault(name);

    private bool Readable(string name) => !_archived.TryGetValue(name, out var ready) || (ready is { } at && clock.GetUtcNow() >= at);

    public async Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        if (!Readable(name)) throw new ObjectArchivedException($"memory: '{name}' is archived and not retrieved", name, "GLACIER");
        var stream = await inner.OpenReadAsync(name, offset, length, cancellationToken).ConfigureAwait(false);
        if (offset == 0) _reads.AddOrUpdate(name, 1, (_, n) => n + 1);
        return stream;
    }

    public async Task<ArchiveState> GetArchiveStateAsync(string name, CancellationToken cancellationToken = default)
    {
        var size = (await inner.StatAsync(name, cancellationToken).ConfigureAwait(false) ?? throw new ObjectNotFoundException(name)).Size;
        if (!_archived.TryGetValue(name, out var ready)) return new ArchiveState(ArchiveStatus.Hot, null, size);
        if (ready is null) return new ArchiveState(ArchiveStatus.Archived, "GLACIER", size);
        return clock.GetUtcNow() >= ready
            ? new ArchiveState(ArchiveStatus.Restored, "GLACIER", size, ready.Value.AddDays(7))
            : new ArchiveState(ArchiveStatus.Restoring, "GLACIER", size);
    }

    public Task RequestRestoreAsync(string name, RetrievalTier tier, int days, CancellationToken cancellationToken = default)
    {
        _requests.AddOrUpdate(name, 1, (_, n) => n + 1);
        if (_archived.TryGetValue(name, out var ready) && ready is null) _archived[name] = clock.GetUtcNow() + ThawAfter(name);
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<(StoredObject Object, string StorageClass)> ListNonDefaultClassAsync(string prefix,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var o in inner.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
            if (_archived.ContainsKey(o.Name)) yield return (o, "GLACIER");
    }

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => inner.PutAsync(name, data, cancellationToken);

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) => inner.StatAsync(name, cancellationToken);

    public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task DeleteAsync(string name, CancellationToken cancellationToken = default) => inner.DeleteAsync(name, cancellationToken);

    public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
        inner.AbortIncompleteUploadsAsync(olderThan, cancellationToken);
}

/// <summary>
/// A clock on which waiting costs nothing: a timer moves the time on by its due time and fires at once (timers fire
/// once; their period is ignored). A retrieval wait of hours passes in no real time, and the time it moved is measurable.
/// </summary>
public sealed class SkippingClock(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _gate = new();
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate) return _now;
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (_gate) _now += dueTime;
            ThreadPool.QueueUserWorkItem(_ => callback(state));
        }
        return new Inert();
    }

    private sealed class Inert : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => true;
        public void Dispose() { }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
