using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Dedup.Storage.S3;

/// <summary>
/// AN EMULATION, for tests only: AWS archive semantics on top of a real S3 server that has none (Ceph RGW 16 stores the
/// GLACIER class and reports it in HEAD and List, but keeps such objects readable and has no RestoreObject).
/// Objects whose real storage class (from the server's HEAD) is an archive class are unreadable, with the same
/// <see cref="ObjectArchivedException"/> that AWS's 403 InvalidObjectState maps to, until a retrieval is requested;
/// they become readable after the tier's delay, measured by <paramref name="clock"/>, for the requested days.
/// Retrieval requests are kept in <paramref name="stateDirectory"/> (one file per object), so they survive process
/// restarts: the CLI is a new process each run. What a real AWS run adds: real delays (hours), real costs, the
/// x-amz-restore header and RestoreObject's own errors (e.g. Expedited refused for DEEP_ARCHIVE, or when capacity lacks).
/// </summary>
public sealed class ArchiveEmulatingStorage(S3Storage real, string stateDirectory, TimeProvider clock) : IMaintenanceStorage, IArchiveStorage
{
    /// <summary>The environment variable that turns the emulation on in the CLI: a state directory. Only tests set it.</summary>
    public const string EnvironmentVariable = "DEDUP_EMULATE_ARCHIVE";

    private readonly ConcurrentDictionary<string, ArchiveState> _real = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public string Location => real.Location;

    /// <summary>Emulated retrieval times: the upper ends of AWS's published ranges (GLACIER 1-5 min, 3-5 h, 5-12 h; DEEP_ARCHIVE 12 h, 48 h).</summary>
    public static TimeSpan RetrievalDelay(string storageClass, RetrievalTier tier) => (storageClass, tier) switch
    {
        ("DEEP_ARCHIVE", RetrievalTier.Bulk) => TimeSpan.FromHours(48),
        ("DEEP_ARCHIVE", _) => TimeSpan.FromHours(12),
        (_, RetrievalTier.Expedited) => TimeSpan.FromMinutes(5),
        (_, RetrievalTier.Bulk) => TimeSpan.FromHours(12),
        _ => TimeSpan.FromHours(5),
    };

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        real.PutAsync(name, data, cancellationToken);

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, PutHint hint, CancellationToken cancellationToken = default) =>
        real.PutAsync(name, data, hint, cancellationToken);

    public async Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        var state = await GetArchiveStateAsync(name, cancellationToken).ConfigureAwait(false);
        if (!state.Readable)
            throw new ObjectArchivedException(
                $"{Location}: '{name}' is in the archive storage class {state.StorageClass} and has no retrieved copy to read "
                + "(S3 error InvalidObjectState, HTTP 403, emulated); request its retrieval first.", name, state.StorageClass);
        return await real.OpenReadAsync(name, offset, length, cancellationToken).ConfigureAwait(false);
    }

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) => real.StatAsync(name, cancellationToken);

    public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) => real.ListAsync(prefix, cancellationToken);

    public Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        File.Delete(StateFile(name));
        return real.DeleteAsync(name, cancellationToken);
    }

    public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
        real.AbortIncompleteUploadsAsync(olderThan, cancellationToken);

    public async Task<ArchiveState> GetArchiveStateAsync(string name, CancellationToken cancellationToken = default)
    {
        var real = await RealStateAsync(name, cancellationToken).ConfigureAwait(false);
        if (!StorageClasses.IsArchive(real.StorageClass)) return real;
        if (ReadRequest(name) is not { } request) return real with { Status = ArchiveStatus.Archived };
        var now = clock.GetUtcNow();
        if (now < request.Ready) return real with { Status = ArchiveStatus.Restoring };
        if (now < request.Until) return real with { Status = ArchiveStatus.Restored, RestoredUntil = request.Until };
        return real with { Status = ArchiveStatus.Archived }; // the temporary copy expired
    }

    public async Task RequestRestoreAsync(string name, RetrievalTier tier, int days, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        var storageClass = (await RealStateAsync(name, cancellationToken).ConfigureAwait(false)).StorageClass;
        if (!StorageClasses.IsArchive(storageClass)) return; // AWS: 403 InvalidObjectState, which S3Storage treats as "readable"
        if (storageClass == "DEEP_ARCHIVE" && tier == RetrievalTier.Expedited)
            throw new StorageException($"{Location}: restore-request of '{name}' failed (S3 error InvalidArgument, HTTP 400, emulated): DEEP_ARCHIVE has no Expedited tier; use standard or bulk.");
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            var existing = ReadRequest(name);
            if (existing is { } e && now < e.Ready) return; // RestoreAlreadyInProgress: success, nothing changes
            // A restored copy gets its days counted again from now (AWS extends it); an expired or absent one starts over.
            var ready = existing is { } r && now < r.Until ? now : now + RetrievalDelay(storageClass!, tier);
            WriteRequest(name, new Request(tier, now, ready, ready + TimeSpan.FromDays(days)));
        }
    }

    public IAsyncEnumerable<(StoredObject Object, string StorageClass)> ListNonDefaultClassAsync(string prefix, CancellationToken cancellationToken = default) =>
        real.ListNonDefaultClassAsync(prefix, cancellationToken);

    /// <summary>The names retrieval was ever requested for, from a state directory (tests assert the exact set).</summary>
    public static IReadOnlyList<string> RequestedNames(string stateDirectory) =>
        Directory.Exists(stateDirectory)
            ? Directory.EnumerateFiles(stateDirectory, "*.request").Select(f => File.ReadLines(f).First()).Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>The real server's answer (class and size; RGW never reports a retrieval), once per object and process.</summary>
    private async Task<ArchiveState> RealStateAsync(string name, CancellationToken cancellationToken)
    {
        if (_real.TryGetValue(name, out var known)) return known;
        return _real[name] = await real.GetArchiveStateAsync(name, cancellationToken).ConfigureAwait(false);
    }

    private sealed record Request(RetrievalTier Tier, DateTimeOffset Requested, DateTimeOffset Ready, DateTimeOffset Until);

    /// <summary>One file per object, named by a hash of location and name; lines: name, tier, requested, ready, until.</summary>
    private string StateFile(string name) =>
        Path.Combine(stateDirectory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Location + "\n" + name)))[..32] + ".request");

    private Request? ReadRequest(string name)
    {
        var path = StateFile(name);
        if (!File.Exists(path)) return null;
        var lines = File.ReadAllLines(path);
        return new Request(Enum.Parse<RetrievalTier>(lines[1]), Time(lines[2]), Time(lines[3]), Time(lines[4]));
    }

    private void WriteRequest(string name, Request r)
    {
        Directory.CreateDirectory(stateDirectory);
        var path = StateFile(name);
        var temp = path + ".tmp";
        File.WriteAllLines(temp, [name, r.Tier.ToString(), Text(r.Requested), Text(r.Ready), Text(r.Until)]);
        File.Move(temp, path, overwrite: true);
    }

    private static string Text(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Time(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}

/// <summary>
/// The emulation's clock, for CLI tests that cannot inject one into a new process: the real time plus an offset kept in
/// the state directory's "clock" file ("MODE OFFSET-SECONDS"). Mode "auto": a timer fires at once and moves the offset
/// on by its due time (a wait of 5 hours passes instantly, and the emulated restores thaw); "frozen": timers never fire
/// (a process waiting on it waits until killed, which is how tests catch it mid-wait). Without the file: the system clock.
/// Timers fire once (their period is ignored): the CLI uses it only for Task.Delay.
/// </summary>
public sealed class EmulatedArchiveClock(string stateDirectory) : TimeProvider
{
    private readonly Lock _gate = new();
    private string ClockFile => Path.Combine(stateDirectory, "clock");

    /// <summary>Writes the clock file (tests): the mode and the offset from real time.</summary>
    public static void Set(string stateDirectory, string mode, TimeSpan offset)
    {
        Directory.CreateDirectory(stateDirectory);
        File.WriteAllText(Path.Combine(stateDirectory, "clock"), $"{mode} {offset.TotalSeconds.ToString(CultureInfo.InvariantCulture)}");
    }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Read().Offset;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var (mode, offset) = Read();
        if (mode is null) return System.CreateTimer(callback, state, dueTime, period);
        if (mode == "auto" && dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (_gate) Set(stateDirectory, mode, Read().Offset + dueTime);
            ThreadPool.QueueUserWorkItem(_ => callback(state));
        }
        return new InertTimer();
    }

    private (string? Mode, TimeSpan Offset) Read()
    {
        if (!File.Exists(ClockFile)) return (null, TimeSpan.Zero);
        var parts = File.ReadAllText(ClockFile).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (parts[0], TimeSpan.FromSeconds(double.Parse(parts[1], CultureInfo.InvariantCulture)));
    }

    private sealed class InertTimer : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => true;
        public void Dispose() { }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
