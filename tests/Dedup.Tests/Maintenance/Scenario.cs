using Dedup.Archiver.Backup;
using Dedup.Archiver.Restore;
using Dedup.Crypto;
using Dedup.Repository;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Maintenance;

/// <summary>A clock tests move by hand, for grace periods.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;
    public override DateTimeOffset GetUtcNow() => Now;
    public void Advance(TimeSpan by) => Now += by;
}

/// <summary>
/// A repository in memory with a hand-driven clock shared by the store and the clients, cheap Argon2 and small
/// chunks and packs, plus helpers to back up and restore generated trees.
/// </summary>
public sealed class Scenario : IAsyncDisposable
{
    public const string Password = "scenario password";
    public ManualClock Clock { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    public MemoryStorage Storage { get; } = new();
    public string Work { get; } = Directory.CreateTempSubdirectory("dedup-scenario-").FullName;
    private readonly List<Repo> _open = [];

    public static readonly InitOptions SmallRepo = new()
    {
        ChunkerMin = 4 * 1024, ChunkerAverage = 16 * 1024, ChunkerMax = 64 * 1024, PackSize = 1024 * 1024,
        Kdf = new Argon2Parameters(64, 1, 1),
    };

    public static async Task<Scenario> CreateAsync()
    {
        var s = new Scenario();
        s.Storage.TimeProvider = s.Clock;
        await Repo.InitAsync(s.Storage, System.Text.Encoding.UTF8.GetBytes(Password), SmallRepo, s.Clock);
        return s;
    }

    public async Task<Repo> OpenAsync(string password = Password, IStorage? storage = null)
    {
        var repo = await Repo.OpenAsync(storage ?? Storage, System.Text.Encoding.UTF8.GetBytes(password), Clock);
        _open.Add(repo);
        return repo;
    }

    /// <summary>Writes <paramref name="files"/> random files of <paramref name="size"/> bytes under Work/name, seeded.</summary>
    public string MakeTree(string name, int files, int size, int seed)
    {
        var dir = Path.Join(Work, name);
        Directory.CreateDirectory(dir);
        var rng = new Random(seed);
        for (int i = 0; i < files; i++)
        {
            var data = new byte[size];
            rng.NextBytes(data);
            File.WriteAllBytes(Path.Join(dir, $"f{i}.bin"), data);
        }
        return dir;
    }

    public async Task<BackupResult> BackupAsync(Repo repo, string path, string host = "host-a", Stream? stdin = null) =>
        await Archiver.Backup.Archiver.RunAsync(repo, new BackupOptions { Paths = [path], Host = host, Stdin = stdin, StdinFileName = "stream" }, new BackupProgress());

    /// <summary>Restores a snapshot and returns the restore target.</summary>
    public async Task<(string Target, RestoreResult Result)> RestoreAsync(Repo repo, string snapshot)
    {
        var target = Path.Join(Work, "restore-" + Guid.NewGuid().ToString("n")[..8]);
        var loaded = await repo.Snapshots.ResolveAsync(snapshot);
        return (target, await Restorer.RunAsync(repo, loaded, new RestoreOptions { Target = target }, new RestoreProgress()));
    }

    public static void AssertSameTree(string expected, string actual)
    {
        var a = Directory.EnumerateFiles(expected, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(expected, f)).Order().ToList();
        var b = Directory.EnumerateFiles(actual, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(actual, f)).Order().ToList();
        Xunit.Assert.Equal(a, b);
        foreach (var f in a) Xunit.Assert.Equal(File.ReadAllBytes(Path.Join(expected, f)), File.ReadAllBytes(Path.Join(actual, f)));
    }

    public long StoredBytes(string prefix) => Storage.ListAsync(prefix).ToBlockingEnumerable().Sum(o => o.Size);

    public async ValueTask DisposeAsync()
    {
        foreach (var r in _open) await r.DisposeAsync();
        try { Directory.Delete(Work, true); } catch (IOException) { }
    }
}
