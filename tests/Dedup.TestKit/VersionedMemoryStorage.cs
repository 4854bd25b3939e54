using System.Runtime.CompilerServices;
using Dedup.Storage;

namespace Dedup.TestKit;

/// <summary>
/// AN EMULATION of a versioned S3 bucket, in memory, for fast tests of the rules that read and roll back versions:
/// every put, overwrite and delete adds a version (a delete adds a delete marker), nothing is ever replaced, and the
/// version listing is in name order, newest first within a name. Times come from <see cref="Clock"/>, so tests give
/// several versions the same time (as a server's coarse clock does). What it does not model: Object Lock, lifecycle
/// rules, and S3's eventual listings; the real server's tests (tests/Dedup.EndToEnd/S3/S3AsOfTests.cs) cover S3.
/// </summary>
public sealed class VersionedMemoryStorage : IMaintenanceStorage, IVersionedStorage
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, List<Version>> _history = new(StringComparer.Ordinal);
    private long _nextId;

    public TimeProvider Clock { get; set; } = TimeProvider.System;

    public string Location => "memory-versioned:";

    private sealed record Version(string Id, byte[]? Data, DateTimeOffset Time)
    {
        public bool IsDeleteMarker => Data is null;
    }

    /// <summary>How many versions hold data (never fewer after a rollback: it only adds versions and removes markers).</summary>
    public int DataVersions
    {
        get
        {
            lock (_gate) return _history.Values.Sum(h => h.Count(v => !v.IsDeleteMarker));
        }
    }

    /// <summary>Every version ID there is, delete markers included: reading as of a time must add none.</summary>
    public IReadOnlyList<string> AllVersionIds()
    {
        lock (_gate) return _history.Values.SelectMany(h => h.Select(v => v.Id)).ToList();
    }

    /// <summary>Writes a new current version whatever is there: what an attacker with admin credentials does.</summary>
    public void Overwrite(string name, byte[] data) => Add(name, data.ToArray());

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        StorageNames.Validate(name);
        lock (_gate)
        {
            if (CurrentOf(name) is not null) return Task.FromResult(PutOutcome.AlreadyExists);
            Add(name, data.ToArray());
            return Task.FromResult(PutOutcome.Created);
        }
    }

    public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        lock (_gate)
            return Task.FromResult<Stream>(Slice(CurrentOf(name) ?? throw new ObjectNotFoundException($"{Location}: '{name}' does not exist."), offset, length));
    }

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default)
    {
        lock (_gate)
            return Task.FromResult(CurrentOf(name) is { } v ? new StoredObject(name, v.Data!.Length, v.Time) : (StoredObject?)null);
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        List<StoredObject> current;
        lock (_gate)
            current = _history.Where(h => h.Key.StartsWith(prefix, StringComparison.Ordinal) && !h.Value[^1].IsDeleteMarker)
                .Select(h => new StoredObject(h.Key, h.Value[^1].Data!.Length, h.Value[^1].Time)).ToList();
        foreach (var o in current) yield return o;
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>Adds a delete marker (as S3 does on a versioned bucket); the versions stay.</summary>
    public Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        lock (_gate)
            if (_history.ContainsKey(name)) Add(name, null);
        return Task.CompletedTask;
    }

    public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) => Task.FromResult(0);

    public async IAsyncEnumerable<StoredVersion> ListVersionsAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        List<StoredVersion> all;
        lock (_gate)
            all = _history.Where(h => h.Key.StartsWith(prefix, StringComparison.Ordinal))
                .SelectMany(h => Enumerable.Range(0, h.Value.Count).Reverse().Select(i =>
                    new StoredVersion(h.Key, h.Value[i].Id, h.Value[i].IsDeleteMarker, i == h.Value.Count - 1, h.Value[i].Data?.Length ?? 0, h.Value[i].Time)))
                .ToList();
        foreach (var v in all) yield return v;
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<Stream> OpenReadVersionAsync(string name, string versionId, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var v = Find(name, versionId);
            if (v.IsDeleteMarker) throw new StorageException($"{Location}: '{name}' version {versionId} is a delete marker.");
            return Task.FromResult<Stream>(Slice(v, offset, length));
        }
    }

    public Task CopyVersionToCurrentAsync(string name, string versionId, CancellationToken cancellationToken = default)
    {
        lock (_gate) Add(name, Find(name, versionId).Data ?? throw new StorageException($"{Location}: cannot copy a delete marker."));
        return Task.CompletedTask;
    }

    public Task DeleteVersionAsync(string name, string versionId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _history[name].Remove(Find(name, versionId));
            if (_history[name].Count == 0) _history.Remove(name);
        }
        return Task.CompletedTask;
    }

    public Task AddDeleteMarkerAsync(string name, CancellationToken cancellationToken = default) => DeleteAsync(name, cancellationToken);

    private void Add(string name, byte[]? data)
    {
        lock (_gate)
        {
            if (!_history.TryGetValue(name, out var versions)) _history[name] = versions = [];
            versions.Add(new Version("v" + ++_nextId, data, Clock.GetUtcNow()));
        }
    }

    private Version? CurrentOf(string name) => _history.TryGetValue(name, out var h) && h.Count > 0 && !h[^1].IsDeleteMarker ? h[^1] : null;

    private Version Find(string name, string versionId) =>
        _history.TryGetValue(name, out var h) && h.FirstOrDefault(v => v.Id == versionId) is { } v
            ? v
            : throw new ObjectNotFoundException($"{Location}: '{name}' has no version {versionId}.");

    private static Stream Slice(Version v, long offset, long length)
    {
        var data = v.Data!;
        var start = (int)Math.Min(offset, data.Length);
        var count = length < 0 ? data.Length - start : (int)Math.Min(length, data.Length - start);
        return new MemoryStream(data, start, count, writable: false);
    }
}
