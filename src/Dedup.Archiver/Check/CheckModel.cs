using System.Collections.Concurrent;

namespace Dedup.Archiver.Check;

public sealed record CheckOptions
{
    /// <summary>Also read every pack whole and verify every blob in it (check --read-data).</summary>
    public bool ReadData { get; init; }
    /// <summary>With <see cref="ReadData"/>: read only these packs (check --read-data-subset); null reads all.</summary>
    public PackSubset? ReadDataSubset { get; init; }
    /// <summary>
    /// With <see cref="ReadData"/>: given the packs to read (all, or the subset's), yields them as they become readable,
    /// each once (cold storage: the readable ones first, then archived ones in the batches their retrieval thaws). Each
    /// batch is read and verified before the next is asked for. Null reads them all at once; an archived one is then a
    /// warning that names what to run.
    /// </summary>
    public Func<IReadOnlyCollection<Format.ObjectId>, CancellationToken, IAsyncEnumerable<IReadOnlyList<Format.ObjectId>>>? ReadAsThawed { get; init; }
    /// <summary>Drives the random subsets; a seeded one makes a test repeatable.</summary>
    public Random Random { get; init; } = Random.Shared;
    /// <summary>Packs read at once with <see cref="ReadData"/>; memory is about this many packs.</summary>
    public int ReadConcurrency { get; init; } = 2;
    /// <summary>One line per phase, for a verbose CLI.</summary>
    public IProgress<string>? Log { get; init; }
    /// <summary>Live counters for a progress display.</summary>
    public CheckProgress? Progress { get; init; }
}

/// <summary>Counters updated while check runs; read from another thread.</summary>
public sealed class CheckProgress
{
    internal long _packs, _packsTotal, _packsRead, _bytesRead, _blobs, _snapshots;
    public long PacksChecked => Interlocked.Read(ref _packs);
    public long PacksTotal => Interlocked.Read(ref _packsTotal);
    /// <summary>Packs read whole (ReadData only).</summary>
    public long PacksRead => Interlocked.Read(ref _packsRead);
    public long BytesRead => Interlocked.Read(ref _bytesRead);
    public long BlobsChecked => Interlocked.Read(ref _blobs);
    public long SnapshotsChecked => Interlocked.Read(ref _snapshots);
}

/// <summary>
/// One damaged or suspicious object. <see cref="ObjectName"/> is a storage name ("data/ab/ab12…", "index/…",
/// "snapshots/…", "config", "keys/…") or "blob ab12…" for data that is missing altogether. Warnings
/// (e.g. a pack left by an interrupted backup) do not make the check fail.
/// </summary>
public sealed record CheckProblem(string ObjectName, string Description, IReadOnlyList<string> AffectedSnapshots, IReadOnlyList<string> AffectedFiles)
{
    public bool IsWarning { get; init; }
    public override string ToString() => $"{(IsWarning ? "warning" : "error")}: {ObjectName}: {Description}";
}

public sealed record CheckResult
{
    public required IReadOnlyList<CheckProblem> Problems { get; init; }
    public long PacksChecked { get; init; }
    public long BlobsChecked { get; init; }
    public long SnapshotsChecked { get; init; }
    /// <summary>Packs read whole (<see cref="CheckOptions.ReadData"/>): all of them, or those of the subset.</summary>
    public long PacksRead { get; init; }
    /// <summary>Packs the read-data phase chose to read, before any vanished (a subset's size, or all stored packs).</summary>
    public long PacksSelected { get; init; }
    public IEnumerable<CheckProblem> Errors => Problems.Where(p => !p.IsWarning);
    public IEnumerable<CheckProblem> Warnings => Problems.Where(p => p.IsWarning);
    /// <summary>True when nothing is damaged or missing (warnings allowed).</summary>
    public bool IsOk => !Errors.Any();
}

/// <summary>
/// Collects problems from parallel phases, one per object, merging what each affects. The affected-file list per
/// problem is capped so that a damaged blob shared by millions of files cannot exhaust memory.
/// </summary>
internal sealed class ProblemLog
{
    public const int MaxFilesPerProblem = 10_000;

    private sealed class Entry(string name, string description, bool warning)
    {
        public readonly string Name = name;
        public readonly string Description = description;
        public readonly bool Warning = warning;
        public readonly SortedSet<string> Snapshots = new(StringComparer.Ordinal);
        public readonly List<string> Files = [];
        // Kept beside the list so lookups stay O(1) while the list keeps discovery order.
        public readonly HashSet<string> FileSet = new(StringComparer.Ordinal);
        public int Dropped;
    }

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    private readonly ConcurrentDictionary<string, Entry> _firstError = new(StringComparer.Ordinal);

    public void Add(string objectName, string description, bool warning = false)
    {
        var e = new Entry(objectName, description, warning);
        if (_entries.TryAdd(Key(objectName, description), e))
        {
            lock (_order) _order.Add(Key(objectName, description));
            if (!warning) _firstError.TryAdd(objectName, e);
        }
    }

    /// <summary>
    /// Records that <paramref name="file"/> of <paramref name="snapshot"/> (or the snapshot as a whole, when null) needs the
    /// object. The loss is attached to the object's first error, or to a new one saying <paramref name="description"/>.
    /// </summary>
    public void Affect(string objectName, string description, string snapshot, string? file)
    {
        if (!_firstError.TryGetValue(objectName, out var e))
        {
            Add(objectName, description);
            e = _firstError[objectName];
        }
        lock (e)
        {
            e.Snapshots.Add(snapshot);
            if (file is null) return;
            // Paths are merged across snapshots: a file unchanged between backups is one loss to the user.
            if (e.FileSet.Contains(file)) return;
            if (e.FileSet.Count >= MaxFilesPerProblem) e.Dropped++;
            else if (e.FileSet.Add(file)) e.Files.Add(file);
        }
    }

    /// <summary>Removes the warnings about <paramref name="objectName"/> that begin with <paramref name="prefix"/> (made moot by a later phase).</summary>
    public void WithdrawWarnings(string objectName, string prefix)
    {
        foreach (var (key, e) in _entries)
            if (e.Warning && e.Name == objectName && e.Description.StartsWith(prefix, StringComparison.Ordinal))
                _entries.TryRemove(key, out _);
    }

    public bool HasErrors => _entries.Values.Any(e => !e.Warning);

    public List<CheckProblem> ToList()
    {
        lock (_order)
            return _order.Where(_entries.ContainsKey).Select(k => _entries[k]).Select(e =>
            {
                var files = e.Dropped == 0 ? e.Files : [.. e.Files, $"… and {e.Dropped} more"];
                return new CheckProblem(e.Name, e.Description, e.Snapshots.ToArray(), files) { IsWarning = e.Warning };
            }).OrderBy(p => p.IsWarning).ToList();
    }

    private static string Key(string name, string description) => name + "\n" + description;
}
