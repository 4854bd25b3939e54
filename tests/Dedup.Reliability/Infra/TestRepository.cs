using System.Text.Json;
using Dedup.TestKit;
using Xunit;

namespace Dedup.Reliability.Infra;

/// <summary>A snapshot the test knows the exact contents of.</summary>
public sealed record KnownSnapshot(string Id, IReadOnlyList<(string Root, List<string> Digest)> Roots, string Label)
{
    public KnownSnapshot(string id, string root, List<string> digest, string label) : this(id, [(root, digest)], label)
    {
    }
}

/// <summary>A repository under test: its backend, the dedup CLI with the right credentials, and verification helpers.</summary>
public sealed class TestRepository : IAsyncDisposable
{
    private readonly TempDir _dir;
    private int _restores;

    private TestRepository(TempDir dir, Backend backend, int seed)
    {
        _dir = dir;
        Backend = backend;
        Cli = new DedupCli(dir);
        Seed = seed;
    }

    public Backend Backend { get; }
    public DedupCli Cli { get; }
    public TempDir Dir => _dir;
    public int Seed { get; }
    public List<KnownSnapshot> Snapshots { get; } = [];

    /// <summary>Every failure message starts with this: rerun with DEDUP_RELIABILITY_SEED to get the same data and delays.</summary>
    public string Context => $"[{Backend.Name}, seed {Seed}]";

    /// <summary>The seed: DEDUP_RELIABILITY_SEED when set, else a fresh one (printed in every failure message).</summary>
    public static int NewSeed() =>
        int.TryParse(Environment.GetEnvironmentVariable("DEDUP_RELIABILITY_SEED"), out var s) ? s : Random.Shared.Next(1, int.MaxValue);

    public static async Task<TestRepository> CreateAsync(string backend, string purpose, int seed, bool init = true)
    {
        var dir = new TempDir("dedup-rel-" + purpose);
        var repo = new TestRepository(dir, Backend.Create(backend, dir, purpose), seed);
        if (init) await repo.OkAsync(["init", .. DedupCli.InitOptions]);
        return repo;
    }

    /// <summary>A repository on a backend the test made itself (e.g. an S3 bucket of its own with a put-only policy); no init.</summary>
    public static TestRepository Create(TempDir dir, Backend backend, int seed) => new(dir, backend, seed);

    public DataSet NewDataSet(string name, long bytes, int seedOffset = 0) => new(_dir.Combine(name), Seed + seedOffset, bytes);

    /// <summary>Starts `dedup -r URL args` with the client's credentials (admin: the admin's).</summary>
    public DedupProcess Start(IReadOnlyList<string> args, bool admin = false, IReadOnlyDictionary<string, string?>? env = null, string? url = null) =>
        Cli.Start(["-r", url ?? Backend.Url, .. args], Merge(admin ? Backend.AdminEnv : Backend.ClientEnv, env));

    public async Task<CliResult> RunAsync(IReadOnlyList<string> args, bool admin = false, IReadOnlyDictionary<string, string?>? env = null, string? url = null)
    {
        using var p = Start(args, admin, env, url);
        return await p.WaitAsync();
    }

    public async Task<CliResult> OkAsync(IReadOnlyList<string> args, bool admin = false, IReadOnlyDictionary<string, string?>? env = null, string? url = null, string? context = null)
    {
        var r = await RunAsync(args, admin, env, url);
        Assert.True(r.ExitCode == 0, $"{Context}{context} dedup {string.Join(' ', args)} failed: {r}");
        return r;
    }

    public static string[] BackupArgs(string root, string? host = null) => BackupArgs([root], host);

    public static string[] BackupArgs(IEnumerable<string> roots, string? host = null) => ["backup", .. roots, "--json", "--host", host ?? "reliability"];

    /// <summary>Backs up a data set to completion and records the snapshot with the contents it must restore to.</summary>
    public Task<(KnownSnapshot Snapshot, JsonElement Summary)> BackupAsync(DataSet data, string label, string? host = null, string? context = null, string? url = null) =>
        BackupAsync([data], label, host, context, url);

    public async Task<(KnownSnapshot Snapshot, JsonElement Summary)> BackupAsync(DataSet[] data, string label, string? host = null, string? context = null, string? url = null)
    {
        var roots = data.Select(d => (d.Root, d.Digest())).ToList();
        var r = await OkAsync(BackupArgs(data.Select(d => d.Root), host), url: url, context: context);
        var summary = r.Json();
        var snap = new KnownSnapshot(summary.GetProperty("snapshot_id").GetString()!, roots, label);
        lock (Snapshots) Snapshots.Add(snap);
        return (snap, summary);
    }

    public async Task CheckAsync(string context, bool readData = false)
    {
        var r = await RunAsync(readData ? ["check", "--read-data"] : ["check"]);
        Assert.True(r.ExitCode == 0, $"{Context} {context}: check{(readData ? " --read-data" : "")} failed: {r}");
    }

    /// <summary>Restores the snapshot into a fresh folder and compares every name, kind, content and link with what was backed up.</summary>
    /// <summary>With <paramref name="subdir"/>, restores only that folder of a one-path snapshot (a cheaper sample) and compares it.</summary>
    public async Task RestoreAndVerifyAsync(KnownSnapshot snap, string context, string? url = null, string? subdir = null)
    {
        var target = _dir.Combine($"restore-{Interlocked.Increment(ref _restores)}");
        try
        {
            if (subdir is not null && snap.Roots.Count == 1)
            {
                var (root, digest) = snap.Roots[0];
                var prefix = subdir + "/";
                var part = new KnownSnapshot(snap.Id, Path.Join(root, subdir),
                    digest.Where(l => l.StartsWith(prefix, StringComparison.Ordinal) && l != prefix).Select(l => l[prefix.Length..]).ToList(), $"{snap.Label}, folder {subdir}");
                snap = part;
            }
            var include = subdir is not null && snap.Roots.Count == 1 ? new[] { "--include", snap.Roots[0].Root } : [];
            var r = await RunAsync(["restore", snap.Id, "--target", target, "--json", .. include], url: url);
            Assert.True(r.ExitCode == 0, $"{Context} {context}: restore of {snap.Label} ({snap.Id[..8]}) failed: {r}");
            VerifyRestored(snap, target, context);
        }
        finally
        {
            TryDeleteDirectory(target);
        }
    }

    public void VerifyRestored(KnownSnapshot snap, string target, string context)
    {
        var partials = Directory.EnumerateFiles(target, "*.dedup-partial", SearchOption.AllDirectories).ToList();
        Assert.True(partials.Count == 0, $"{Context} {context}: {partials.Count} *.dedup-partial file(s) left in the target, e.g. {partials.FirstOrDefault()}");
        foreach (var (root, digest) in snap.Roots)
        {
            var restored = Path.Join(target, root);
            Assert.True(Directory.Exists(restored), $"{Context} {context}: {snap.Label} restored nothing at {restored}");
            var actual = DataGen.Digest(restored);
            if (!actual.SequenceEqual(digest))
            {
                var missing = digest.Except(actual).Take(5);
                var extra = actual.Except(digest).Take(5);
                Assert.Fail($"{Context} {context}: {snap.Label} ({snap.Id[..8]}) did not restore {root} identical: missing or different [{string.Join("; ", missing)}], "
                            + $"unexpected [{string.Join("; ", extra)}]");
            }
        }
    }

    /// <summary>IDs of the snapshot objects in the repository (a snapshot's ID is the hash its object is named by).</summary>
    public Task<HashSet<string>> SnapshotIdsAsync() => Backend.ListAsync("snapshots");

    /// <summary>The snapshots the repository shows (what 'dedup snapshots' lists): stored and not buried by a tombstone.
    /// A forget killed between its tombstone and its deletes leaves snapshots stored that are already forgotten.</summary>
    public async Task<HashSet<string>> LiveSnapshotIdsAsync(string context)
    {
        var r = await OkAsync(["snapshots", "--json"], admin: true, context: context);
        return JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToHashSet();
    }

    public static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static Dictionary<string, string?> Merge(IReadOnlyDictionary<string, string?> a, IReadOnlyDictionary<string, string?>? b)
    {
        var env = new Dictionary<string, string?>(a);
        if (b is not null) foreach (var (k, v) in b) env[k] = v;
        return env;
    }

    public async ValueTask DisposeAsync()
    {
        await Backend.DisposeAsync();
        _dir.Dispose();
    }
}
