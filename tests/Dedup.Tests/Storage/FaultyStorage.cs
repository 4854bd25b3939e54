using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Dedup.Storage;

namespace Dedup.Tests.Storage;

/// <summary>
/// A <see cref="MemoryStorage"/> that fails on demand: each queued fault is thrown by the next call
/// of that operation. A fault may first let the call land (a lost response).
/// </summary>
internal sealed class FaultyStorage : IMaintenanceStorage
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(Exception Error, bool LandFirst)>> _faults = new();
    private readonly ConcurrentDictionary<string, int> _calls = new();

    public MemoryStorage Inner { get; } = new();

    public string Location => "faulty:";

    /// <summary>After <see cref="FailListAfter"/> items the next listing throws this (once).</summary>
    public Exception? ListFault { get; set; }

    public int FailListAfter { get; set; }

    public void Fail(string operation, Exception error, int times = 1, bool landFirst = false)
    {
        var queue = _faults.GetOrAdd(operation, _ => new());
        for (var i = 0; i < times; i++)
            queue.Enqueue((error, landFirst));
    }

    public int Calls(string operation) => _calls.GetValueOrDefault(operation);

    public async Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (Next("put") is { } fault)
        {
            if (fault.LandFirst)
                await Inner.PutAsync(name, data, cancellationToken);
            throw fault.Error;
        }
        return await Inner.PutAsync(name, data, cancellationToken);
    }

    public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default) =>
        Next("read") is { } fault ? throw fault.Error : Inner.OpenReadAsync(name, offset, length, cancellationToken);

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) =>
        Next("stat") is { } fault ? throw fault.Error : Inner.StatAsync(name, cancellationToken);

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _calls.AddOrUpdate("list", 1, (_, n) => n + 1);
        var yielded = 0;
        await foreach (var o in Inner.ListAsync(prefix, cancellationToken))
        {
            if (ListFault is { } fault && yielded == FailListAfter)
            {
                ListFault = null;
                throw fault;
            }
            yielded++;
            yield return o;
        }
    }

    public Task DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        Next("delete") is { } fault ? throw fault.Error : Inner.DeleteAsync(name, cancellationToken);

    public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
        Inner.AbortIncompleteUploadsAsync(olderThan, cancellationToken);

    private (Exception Error, bool LandFirst)? Next(string operation)
    {
        _calls.AddOrUpdate(operation, 1, (_, n) => n + 1);
        return _faults.TryGetValue(operation, out var queue) && queue.TryDequeue(out var fault) ? fault : null;
    }
}

/// <summary>A clock whose timers fire at once, recording the delays asked for, so retry tests do not wait.</summary>
internal sealed class InstantTimeProvider : TimeProvider
{
    public ConcurrentQueue<TimeSpan> Delays { get; } = new();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
            Delays.Enqueue(dueTime);
        return System.CreateTimer(callback, state, dueTime == Timeout.InfiniteTimeSpan ? dueTime : TimeSpan.Zero, period);
    }
}
