using System.Security.Cryptography;
using System.Text;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Restore;
using Dedup.Archiver.Trees;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Maintenance.Prune;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Packs;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Dedup.TestKit;
using Dedup.Tests.Maintenance;
using Xunit;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Adversarial;

/// <summary>
/// A repository with an admin (full key, a store that deletes) and two backup hosts, web1 and web2, each with a write-only
/// key of its own domain and credentials that can put, get and list but never delete. web2 is the one that gets broken
/// into: <see cref="BreakInAsync"/> hands its key and credentials to an <see cref="Attacker"/>.
/// </summary>
public sealed class Fleet : IAsyncDisposable
{
    public const string Web1Password = "web1 password";
    public const string Web2Password = "web2 password";
    public static readonly PruneOptions Prune48h = new() { Grace = TimeSpan.FromHours(48), MaxBackupAge = TimeSpan.FromHours(24) };

    private Fleet(Scenario s, Repo admin) => (S, Admin) = (s, admin);

    public Scenario S { get; }
    public ManualClock Clock => S.Clock;
    /// <summary>The admin's repository: full key over the store that deletes.</summary>
    public Repo Admin { get; }
    public ObjectId Web1Key { get; private set; }
    public ObjectId Web2Key { get; private set; }
    public Repo Web1 { get; private set; } = null!;
    public Repo Web2 { get; private set; } = null!;

    public static async Task<Fleet> CreateAsync()
    {
        var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        var f = new Fleet(s, admin);
        f.Web1Key = await KeyManager.AddAsync(admin, Encoding.UTF8.GetBytes(Web1Password), KeyKind.WriteOnly, "web1", "svc", TestRepo.CheapKdf);
        f.Web2Key = await KeyManager.AddAsync(admin, Encoding.UTF8.GetBytes(Web2Password), KeyKind.WriteOnly, "web2", "svc", TestRepo.CheapKdf);
        f.Web1 = await s.OpenAsync(Web1Password, new AppendOnlyStorage(s.Storage));
        f.Web2 = await s.OpenAsync(Web2Password, new AppendOnlyStorage(s.Storage));
        return f;
    }

    /// <summary>The attacker opens web2's key with its password, through web2's append-only credentials.</summary>
    public async Task<Attacker> BreakInAsync()
    {
        var storage = new AppendOnlyStorage(S.Storage);
        return new Attacker(await S.OpenAsync(Web2Password, storage), storage);
    }

    /// <summary>
    /// An honest backup of <paramref name="content"/> read from stdin, stored as the file <paramref name="name"/> (its path
    /// set is "/name": retention keeps the newest snapshot of each writer and path set).
    /// </summary>
    public Task<BackupResult> BackupAsync(Repo host, string hostName, byte[] content, string name = "stream", Stream? stdin = null) =>
        Archiver.Backup.Archiver.RunAsync(host, new BackupOptions { Paths = ["/" + name], Host = hostName, Stdin = stdin ?? new MemoryStream(content), StdinFileName = name },
            new BackupProgress());

    /// <summary>
    /// web1 backs up twice, a minute apart, in one path set: once the admin forgets the older snapshot, prune has
    /// something to delete, which shows that it really ran past the grace period.
    /// </summary>
    public async Task<(BackupResult Old, BackupResult New)> Web1HistoryAsync(int oldSeed, int newSeed)
    {
        var old = await BackupAsync(Web1, "web1", Content(oldSeed));
        Clock.Advance(TimeSpan.FromMinutes(1));
        return (old, await BackupAsync(Web1, "web1", Content(newSeed)));
    }

    /// <summary>An honest backup of a folder of files.</summary>
    public Task<BackupResult> BackupTreeAsync(Repo host, string hostName, string folder) =>
        Archiver.Backup.Archiver.RunAsync(host, new BackupOptions { Paths = [folder], Host = hostName }, new BackupProgress());

    /// <summary>A fresh admin process: opens with the full key and loads the index.</summary>
    public async Task<Repo> FreshAdminAsync()
    {
        var repo = await S.OpenAsync();
        await repo.LoadIndexAsync();
        return repo;
    }

    /// <summary>Restores a snapshot as the admin and returns the target; fails the test on any failure.</summary>
    public async Task<string> RestoreAsync(ObjectId snapshot, SnapshotFilter? filter = null)
    {
        var admin = await FreshAdminAsync();
        var loaded = await admin.Snapshots.ResolveAsync(snapshot.ToString(), filter);
        var target = Path.Join(S.Work, "restore-" + Guid.NewGuid().ToString("n")[..8]);
        var result = await Restorer.RunAsync(admin, loaded, new RestoreOptions { Target = target }, new RestoreProgress());
        Assert.True(result.Failures.Count == 0, $"snapshot {snapshot.ToShortString()} lost data: {string.Join("; ", result.Failures.Select(f => f.Path + ": " + f.Reason))}");
        return target;
    }

    /// <summary>Asserts that a stdin snapshot restores to exactly <paramref name="content"/>.</summary>
    public async Task AssertRestoresAsync(ObjectId snapshot, byte[] content, string name = "stream")
    {
        var target = await RestoreAsync(snapshot);
        Assert.True(content.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Join(target, name))), $"snapshot {snapshot.ToShortString()} restored other bytes");
    }

    /// <summary>Prunes, lets the grace period pass, prunes again (and once more): returns every report.</summary>
    public async Task<List<PruneReport>> PruneTwicePastGraceAsync(PruneOptions? options = null)
    {
        options ??= Prune48h;
        var reports = new List<PruneReport>();
        for (int i = 0; i < 3; i++)
        {
            reports.Add(await Pruner.RunAsync(Admin, S.Storage, options));
            Clock.Advance(options.Grace + TimeSpan.FromHours(1));
        }
        return reports;
    }

    /// <summary>Names of stored objects under a prefix.</summary>
    public HashSet<string> Names(string prefix) => S.Storage.ListAsync(prefix).ToBlockingEnumerable().Select(o => o.Name).ToHashSet();

    public static byte[] Content(int seed, int size = 60_000)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Every tree and data blob a snapshot reaches, as the admin sees them (the test cheats to learn another domain's IDs).</summary>
    public async Task<(List<ObjectId> Trees, List<ObjectId> Data)> BlobsOfAsync(ObjectId snapshot)
    {
        var admin = await FreshAdminAsync();
        var loaded = await admin.Snapshots.LoadAsync(snapshot);
        var trees = SnapshotWalker.RootTree(loaded.Info).ToList();
        var data = new List<ObjectId>();
        await foreach (var e in SnapshotWalker.WalkAsync(admin, loaded))
        {
            if (e.Node.Type == NodeType.Directory) trees.AddRange(e.Node.Content);
            else data.AddRange(e.Node.Content);
        }
        return (trees, data);
    }

    public async ValueTask DisposeAsync() => await S.DisposeAsync();
}

/// <summary>
/// A compromised backup host: web2's write-only key, opened with its password, and web2's credentials (put, get, list;
/// no delete). It builds objects with the project's own code and its own key, or hand-crafts bytes.
/// </summary>
public sealed class Attacker(Repo repo, AppendOnlyStorage storage)
{
    public Repo Repo { get; } = repo;
    public AppendOnlyStorage Storage { get; } = storage;
    public DomainKeys Domain => Repo.Keys.Own;

    /// <summary>What its own index shows: every blob ID of its domain with its location (its data from before the break-in).</summary>
    public async Task<List<(ObjectId Id, BlobLocation Location)>> OwnBlobsAsync()
    {
        await Repo.LoadIndexAsync();
        return Repo.Index.Blobs().ToList();
    }

    /// <summary>A real pack (valid trailer and header, signed nothing) whose blobs are random bytes stored under the given IDs.</summary>
    public async Task<IndexPack> PutGarbagePackAsync(BlobType type, IEnumerable<(ObjectId Id, int RawLength)> claimed)
    {
        using var w = new PackWriter(type, Domain.Id, Repo.Keys.ReadPublicKey, Repo.Config.PackSize);
        foreach (var (id, raw) in claimed) w.Add(id, RandomNumberGenerator.GetBytes(raw));
        using var pack = w.Finish();
        await Storage.PutAsync(Layout.Pack(pack.Id), pack.Bytes);
        return pack.Index;
    }

    /// <summary>An index file of its own domain, signed by its key, claiming these packs.</summary>
    public Task<string> PutIndexAsync(params IndexPack[] packs) => PutAsync(Layout.IndexPrefix, IndexFile.Seal(packs, Domain, Repo.Keys));

    /// <summary>A snapshot of its own domain, signed by its key.</summary>
    public async Task<ObjectId> PutSnapshotAsync(SnapshotInfo info) =>
        ObjectId.Parse((await PutAsync(Layout.SnapshotsPrefix, SnapshotEnvelope.Seal(info, Domain.Id, Repo.Keys)))[Layout.SnapshotsPrefix.Length..]);

    /// <summary>Stores bytes under prefix + their SHA-256, as every object is named; returns the name.</summary>
    public async Task<string> PutAsync(string prefix, byte[] bytes)
    {
        var id = ObjectId.HashOf(bytes);
        var name = prefix == Layout.DataPrefix ? Layout.Pack(id) : prefix + id;
        Assert.Equal(PutOutcome.Created, await Storage.PutAsync(name, bytes));
        return name;
    }

    /// <summary>Replaces the trailing 64-byte ECDSA signature with its own over everything before it.</summary>
    public byte[] Resign(byte[] signedObject)
    {
        var copy = (byte[])signedObject.Clone();
        Repo.Keys.SigningKey.Sign(copy.AsSpan(0, copy.Length - SigningKey.SignatureSize), copy.AsSpan(copy.Length - SigningKey.SignatureSize));
        return copy;
    }

    /// <summary>
    /// Its own signing key and certificate, in keys that name another domain (with a secret of its own invention, since
    /// it cannot derive that domain's): what it needs to hand-craft snapshots and markers that claim the domain.
    /// </summary>
    public RepositoryKeys PosingAs(DomainId domain)
    {
        using var signing = Repo.Keys.SigningKey.ExportPrivate();
        return RepositoryKeys.WriteOnly(Repo.Keys.RepositoryId, domain, new SecretBytes(RandomNumberGenerator.GetBytes(32)), SigningKey.Import(signing.Span),
            Repo.Keys.ReadPublicKey, Repo.Keys.Certificate);
    }

    /// <summary>A data key of its own choosing, wrapped to the repository's public read key (anyone can make one).</summary>
    public byte[] WrapKeyOfItsOwn()
    {
        var wrapped = new byte[KeyWrap.WrappedSize];
        KeyWrap.Wrap(RandomNumberGenerator.GetBytes(Aead.KeySize), Repo.Keys.ReadPublicKey, wrapped);
        return wrapped;
    }

    /// <summary>A backup marker signed by its key (naming any host).</summary>
    public Task<string> PutMarkerAsync(string host, DateTimeOffset startedAt) => PutAsync(BackupMarker.Prefix, BackupMarker.Seal(startedAt, host, Repo.Keys));

    /// <summary>Snapshot metadata for a backup of web2 with the given trees.</summary>
    public SnapshotInfo Info(DateTimeOffset time, IEnumerable<ObjectId> tree, string host = "web2", string path = "/x") => new()
    {
        Time = time, Host = host, Paths = [path], Tree = tree.Select(t => t.ToString()).ToArray(), ProgramVersion = "attacker",
    };

    /// <summary>The bytes of one object, read with its credentials (to keep a copy and upload it again later).</summary>
    public async Task<byte[]> ReadAsync(string name)
    {
        await using var s = await Storage.OpenReadAsync(name);
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms);
        return ms.ToArray();
    }

    /// <summary>Every byte of every object it can read, to search for something it should not be able to find.</summary>
    public async Task<List<(string Name, byte[] Bytes)>> ReadEverythingAsync()
    {
        var all = new List<(string, byte[])>();
        await foreach (var o in Storage.ListAsync(""))
        {
            await using var s = await Storage.OpenReadAsync(o.Name);
            using var ms = new MemoryStream();
            await s.CopyToAsync(ms);
            all.Add((o.Name, ms.ToArray()));
        }
        return all;
    }
}
