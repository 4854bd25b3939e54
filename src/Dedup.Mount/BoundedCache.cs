namespace Dedup.Mount;

/// <summary>
/// Values by key within a budget (each value's cost, e.g. its bytes), least recently used out first. Concurrent askers
/// for one key share one load; a load runs under the cache's lifetime token, so one caller giving up does not fail the
/// others, and a failed load is not kept. Loads still running are never evicted, so memory is the budget, plus the
/// newest value when it alone is larger, plus the loads in flight.
/// </summary>
internal sealed class BoundedCache<TKey, TValue>(
    long budget,
    Func<TKey, CancellationToken, Task<TValue>> load,
    Func<TValue, long> cost,
    Action<TValue>? evicted,
    CancellationToken lifetime) where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly Dictionary<TKey, Entry> _entries = new();
    private readonly LinkedList<Entry> _recency = new();
    private long _bytes;

    private sealed class Entry(TKey key)
    {
        public TKey Key { get; } = key;
        public TaskCompletionSource<TValue> Value { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Entry>? Node { get; set; }
        public long Cost { get; set; }
        public bool Loaded { get; set; }
    }

    public long Budget => budget;

    /// <summary>The cost of the values held now (loads in flight not counted).</summary>
    public long CachedCost
    {
        get
        {
            lock (_lock) return _bytes;
        }
    }

    public Task<TValue> GetAsync(TKey key, CancellationToken ct)
    {
        Entry entry;
        bool mine = false;
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var found))
            {
                entry = found;
                _recency.Remove(entry.Node!);
                _recency.AddFirst(entry.Node!);
            }
            else
            {
                entry = new Entry(key);
                entry.Node = _recency.AddFirst(entry);
                _entries.Add(key, entry);
                mine = true;
            }
        }
        if (mine) _ = LoadAsync(entry);
        return entry.Value.Task.WaitAsync(ct);
    }

    private async Task LoadAsync(Entry entry)
    {
        TValue value;
        try
        {
            value = await load(entry.Key, lifetime).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            lock (_lock) Forget(entry);
            entry.Value.SetException(e);
            return;
        }
        List<TValue>? dropped = null;
        bool kept;
        lock (_lock)
        {
            kept = _entries.TryGetValue(entry.Key, out var current) && current == entry;
            if (kept)
            {
                entry.Cost = cost(value);
                entry.Loaded = true;
                _bytes += entry.Cost;
                for (var node = _recency.Last; node is not null && _bytes > budget;)
                {
                    var previous = node.Previous;
                    if (node.Value != entry && node.Value.Loaded)
                    {
                        Forget(node.Value);
                        (dropped ??= []).Add(node.Value.Value.Task.Result);
                    }
                    node = previous;
                }
            }
        }
        entry.Value.SetResult(value);
        if (!kept) evicted?.Invoke(value);
        if (dropped is not null && evicted is not null)
            foreach (var v in dropped) evicted(v);
    }

    private void Forget(Entry entry)
    {
        if (!_entries.TryGetValue(entry.Key, out var current) || current != entry) return;
        _entries.Remove(entry.Key);
        _recency.Remove(entry.Node!);
        _bytes -= entry.Cost;
    }

    /// <summary>Drops <paramref name="value"/> if the cache still holds it under <paramref name="key"/>.</summary>
    public void Remove(TKey key, TValue value)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry) || !entry.Loaded || !EqualityComparer<TValue>.Default.Equals(entry.Value.Task.Result, value)) return;
            Forget(entry);
        }
        evicted?.Invoke(value);
    }

    /// <summary>Drops every loaded value (at unmount).</summary>
    public void Clear()
    {
        List<TValue> dropped = [];
        lock (_lock)
        {
            foreach (var entry in _entries.Values.Where(e => e.Loaded).ToList())
            {
                Forget(entry);
                dropped.Add(entry.Value.Task.Result);
            }
        }
        if (evicted is not null)
            foreach (var v in dropped) evicted(v);
    }
}
