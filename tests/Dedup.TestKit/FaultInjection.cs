using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Dedup.Storage;

namespace Dedup.TestKit;

/// <summary>The storage operations a <see cref="FaultRule"/> can target.</summary>
[Flags]
public enum StorageOp
{
    Put = 1,
    Read = 2,
    Stat = 4,
    List = 8,
    Delete = 16,
    All = Put | Read | Stat | List | Delete,
}

public enum FaultKind
{
    /// <summary>Throws <see cref="StorageUnavailableException"/> before the call reaches the store (retrying may help).</summary>
    Transient,
    /// <summary>A put lands, then its response is lost: the store has the object but the caller sees a transient error.</summary>
    LandThenTransient,
    /// <summary>Throws <see cref="StorageAccessDeniedException"/>: permanent.</summary>
    AccessDenied,
    /// <summary>Throws <see cref="StorageFullException"/>: permanent.</summary>
    Full,
    /// <summary>Throws a plain <see cref="StorageException"/> (permanent).</summary>
    Permanent,
    /// <summary>Waits <see cref="FaultRule.Latency"/> before the call; nothing fails.</summary>
    Latency,
    /// <summary>A read stream returns at most a few bytes per Read call. Legal stream behaviour: callers must loop.</summary>
    ShortReads,
    /// <summary>A read stream ends early (after <see cref="FaultRule.KeepBytes"/> bytes), as a cut connection that the client took for EOF.</summary>
    TruncatedStream,
    /// <summary>A read stream throws <see cref="StorageUnavailableException"/> after <see cref="FaultRule.KeepBytes"/> bytes (connection reset mid-body).</summary>
    FailMidStream,
    /// <summary>One byte of what is read (or, for a put, of what is stored) is flipped: the object reads wrong.</summary>
    FlipBytes,
}

/// <summary>
/// One fault: which operations and object names it applies to (a glob: '*' matches anything, including '/'), after how many
/// matching calls it starts, how many times it fires, and with what probability (from the injector's seeded random).
/// </summary>
public sealed record FaultRule
{
    public StorageOp Operations { get; init; } = StorageOp.All;
    public string NamePattern { get; init; } = "*";
    public required FaultKind Kind { get; init; }
    /// <summary>Matching calls let through untouched before the rule first fires ("fail after N successes").</summary>
    public int AfterSuccesses { get; init; }
    /// <summary>How many times the rule fires at most.</summary>
    public int Times { get; init; } = int.MaxValue;
    /// <summary>Chance that an eligible call is hit.</summary>
    public double Probability { get; init; } = 1.0;
    public TimeSpan Latency { get; init; } = TimeSpan.FromMilliseconds(2);
    /// <summary>For <see cref="FaultKind.TruncatedStream"/> and <see cref="FaultKind.FailMidStream"/>: bytes delivered before.</summary>
    public int KeepBytes { get; init; }

    public override string ToString() =>
        $"{Kind} on {Operations} '{NamePattern}' after {AfterSuccesses} x{(Times == int.MaxValue ? "∞" : Times.ToString())}" +
        (Probability < 1 ? $" p={Probability:0.##}" : "") + (KeepBytes > 0 ? $" keep={KeepBytes}" : "");

    internal Regex Regex => _regex ??= new Regex("^" + Regex.Escape(NamePattern).Replace("\\*", ".*").Replace("\\?", ".") + "$", RegexOptions.CultureInvariant);
    private Regex? _regex;
}

/// <summary>
/// Wraps any store and injects faults by rule: errors (transient or permanent), lost put responses, latency, short reads,
/// truncated or failing read streams and flipped bytes. Rules are checked in the order added; the first that fires on a call
/// wins. <see cref="Enabled"/> switches all of them off (e.g. while setting up or verifying). Every injected fault is logged.
/// </summary>
public sealed class FaultInjectingStorage : IMaintenanceStorage
{
    private sealed class RuleState(FaultRule rule)
    {
        public readonly FaultRule Rule = rule;
        public int Matched;
        public int Fired;
    }

    private readonly List<RuleState> _rules = [];
    private readonly Random _random;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly ConcurrentDictionary<StorageOp, int> _calls = new();

    public FaultInjectingStorage(IStorage inner, int seed = 0)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _random = new Random(seed);
    }

    public IStorage Inner { get; }
    public string Location => Inner.Location;
    public bool Enabled { get; set; } = true;

    /// <summary>A line per injected fault: "Transient put data/ab/…".</summary>
    public IReadOnlyCollection<string> Injected => _log.ToArray();
    public int FaultsInjected => _log.Count;

    public int Calls(StorageOp op) => _calls.GetValueOrDefault(op);

    public FaultInjectingStorage Add(FaultRule rule)
    {
        lock (_rules) _rules.Add(new RuleState(rule));
        return this;
    }

    public FaultInjectingStorage AddRange(IEnumerable<FaultRule> rules)
    {
        foreach (var r in rules) Add(r);
        return this;
    }

    public void Clear()
    {
        lock (_rules) _rules.Clear();
    }

    /// <summary>The rule that fires on this call, if any. Latency rules are applied here and never returned.</summary>
    private async Task<FaultRule?> NextAsync(StorageOp op, string name, CancellationToken ct, params FaultKind[] applicable)
    {
        _calls.AddOrUpdate(op, 1, (_, n) => n + 1);
        if (!Enabled) return null;
        var delays = new List<TimeSpan>();
        FaultRule? hit = null;
        lock (_rules)
        {
            foreach (var s in _rules)
            {
                var r = s.Rule;
                if ((r.Operations & op) == 0 || !r.Regex.IsMatch(name)) continue;
                if (r.Kind != FaultKind.Latency && !applicable.Contains(r.Kind)) continue;
                if (s.Matched++ < r.AfterSuccesses || s.Fired >= r.Times) continue;
                if (r.Probability < 1 && _random.NextDouble() >= r.Probability) continue;
                s.Fired++;
                _log.Enqueue($"{r.Kind} {op.ToString().ToLowerInvariant()} {name}");
                if (r.Kind == FaultKind.Latency)
                {
                    delays.Add(r.Latency);
                    continue;
                }
                hit = r;
                break;
            }
        }
        foreach (var d in delays) await Task.Delay(d, ct).ConfigureAwait(false);
        return hit;
    }

    private int NextRandom(int max)
    {
        lock (_rules) return _random.Next(max);
    }

    internal static Exception ErrorFor(FaultKind kind, string op, string name) => kind switch
    {
        FaultKind.Transient or FaultKind.LandThenTransient or FaultKind.FailMidStream =>
            new StorageUnavailableException($"Injected fault: {op} {name} failed transiently (503 Slow Down)."),
        FaultKind.AccessDenied => new StorageAccessDeniedException($"Injected fault: access denied to {op} {name}.") { Operation = op },
        FaultKind.Full => new StorageFullException($"Injected fault: no space left to {op} {name}."),
        _ => new StorageException($"Injected fault: {op} {name} failed permanently."),
    };

    private static readonly FaultKind[] ErrorKinds = [FaultKind.Transient, FaultKind.AccessDenied, FaultKind.Full, FaultKind.Permanent];

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        PutAsync(name, data, PutHint.None, cancellationToken);

    public async Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, PutHint hint, CancellationToken cancellationToken = default)
    {
        var fault = await NextAsync(StorageOp.Put, name, cancellationToken, [.. ErrorKinds, FaultKind.LandThenTransient, FaultKind.FlipBytes]).ConfigureAwait(false);
        switch (fault?.Kind)
        {
            case null:
                return await Inner.PutAsync(name, data, hint, cancellationToken).ConfigureAwait(false);
            case FaultKind.LandThenTransient:
                await Inner.PutAsync(name, data, hint, cancellationToken).ConfigureAwait(false);
                throw ErrorFor(fault.Kind, "put", name);
            case FaultKind.FlipBytes:
                var copy = data.ToArray();
                if (copy.Length > 0) copy[NextRandom(copy.Length)] ^= (byte)(1 << NextRandom(8));
                return await Inner.PutAsync(name, copy, hint, cancellationToken).ConfigureAwait(false);
            default:
                throw ErrorFor(fault.Kind, "put", name);
        }
    }

    public async Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        var fault = await NextAsync(StorageOp.Read, name, cancellationToken,
            [.. ErrorKinds, FaultKind.ShortReads, FaultKind.TruncatedStream, FaultKind.FailMidStream, FaultKind.FlipBytes]).ConfigureAwait(false);
        if (fault is { Kind: FaultKind.Transient or FaultKind.AccessDenied or FaultKind.Full or FaultKind.Permanent })
            throw ErrorFor(fault.Kind, "read", name);
        var stream = await Inner.OpenReadAsync(name, offset, length, cancellationToken).ConfigureAwait(false);
        return fault is null ? stream : new FaultStream(stream, fault, name, NextRandom(1 << 30));
    }

    public async Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default)
    {
        var fault = await NextAsync(StorageOp.Stat, name, cancellationToken, ErrorKinds).ConfigureAwait(false);
        return fault is null ? await Inner.StatAsync(name, cancellationToken).ConfigureAwait(false) : throw ErrorFor(fault.Kind, "stat", name);
    }

    /// <summary>
    /// Runs after a listing has yielded its last item, with the prefix: lets a test make another client act at exactly
    /// that point of a run (a backup finishing while prune or check reads the repository).
    /// </summary>
    public Func<string, Task>? AfterList { get; set; }

    /// <summary>A list fault fires after <see cref="FaultRule.KeepBytes"/> items have been yielded (0: before the first).</summary>
    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var fault = await NextAsync(StorageOp.List, prefix, cancellationToken, ErrorKinds).ConfigureAwait(false);
        var yielded = 0;
        await foreach (var o in Inner.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (fault is not null && yielded >= fault.KeepBytes) throw ErrorFor(fault.Kind, "list", prefix);
            yielded++;
            yield return o;
        }
        if (fault is not null) throw ErrorFor(fault.Kind, "list", prefix);
        if (AfterList is { } after) await after(prefix).ConfigureAwait(false);
    }

    public async Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        var fault = await NextAsync(StorageOp.Delete, name, cancellationToken, [.. ErrorKinds, FaultKind.LandThenTransient]).ConfigureAwait(false);
        if (Inner is not IMaintenanceStorage m)
            throw new StorageAccessDeniedException($"{Inner.Location} cannot delete {name}.") { Operation = "delete" };
        if (fault is null) { await m.DeleteAsync(name, cancellationToken).ConfigureAwait(false); return; }
        if (fault.Kind == FaultKind.LandThenTransient) await m.DeleteAsync(name, cancellationToken).ConfigureAwait(false);
        throw ErrorFor(fault.Kind, "delete", name);
    }

    public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
        Inner is IMaintenanceStorage m ? m.AbortIncompleteUploadsAsync(olderThan, cancellationToken) : Task.FromResult(0);
}

/// <summary>A read stream that misbehaves as its rule says: short reads, early end, a mid-body error, or one flipped byte.</summary>
internal sealed class FaultStream(Stream inner, FaultRule rule, string name, int seed) : Stream
{
    private readonly Random _random = new(seed);
    private long _delivered;
    private bool _flipped;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _delivered; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (!Limit(ref buffer)) return 0;
        var n = inner.Read(buffer);
        return After(buffer[..n]);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!Limit(ref buffer)) return 0;
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return After(buffer.Span[..n]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Shrinks the read as the fault asks; false when the stream must now end (or throws).</summary>
    private bool Limit(ref Span<byte> buffer)
    {
        var max = MaxNext(buffer.Length);
        if (max < 0) return false;
        buffer = buffer[..max];
        return true;
    }

    private bool Limit(ref Memory<byte> buffer)
    {
        var max = MaxNext(buffer.Length);
        if (max < 0) return false;
        buffer = buffer[..max];
        return true;
    }

    private int MaxNext(int asked)
    {
        if (asked == 0) return 0;
        switch (rule.Kind)
        {
            case FaultKind.ShortReads:
                return Math.Min(asked, 1 + _random.Next(7));
            case FaultKind.TruncatedStream:
                var left = rule.KeepBytes - _delivered;
                return left <= 0 ? -1 : (int)Math.Min(asked, left);
            case FaultKind.FailMidStream:
                var before = rule.KeepBytes - _delivered;
                if (before <= 0) throw FaultInjectingStorage.ErrorFor(rule.Kind, "read", name);
                return (int)Math.Min(asked, before);
            default:
                return asked;
        }
    }

    private int After(Span<byte> read)
    {
        if (rule.Kind == FaultKind.FlipBytes && !_flipped && read.Length > 0)
        {
            read[_random.Next(read.Length)] ^= (byte)(1 << _random.Next(8));
            _flipped = true;
        }
        _delivered += read.Length;
        return read.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => inner.DisposeAsync();
}
