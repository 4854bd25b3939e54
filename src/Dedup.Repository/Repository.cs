using System.Collections.Concurrent;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Snapshots;
using Dedup.Storage;

namespace Dedup.Repository;

public sealed record InitOptions
{
    public int ChunkerMin { get; init; } = 256 * 1024;
    public int ChunkerAverage { get; init; } = 1024 * 1024;
    public int ChunkerMax { get; init; } = 4 * 1024 * 1024;
    public int PackSize { get; init; } = 16 * 1024 * 1024;
    public Argon2Parameters Kdf { get; init; } = Argon2Parameters.Default;
    public string Host { get; init; } = Environment.MachineName;
    public string Username { get; init; } = Environment.UserName;
}

/// <summary>
/// An opened repository: the verified config, the unlocked keys, the store, and (once loaded) the index.
/// Holds no lock and writes nothing by being open.
/// </summary>
public sealed class Repository : IAsyncDisposable
{
    private Repository(IStorage storage, RepositoryConfig config, byte[] configHash, RepositoryKeys keys, ObjectId keyId, TimeProvider clock)
    {
        Storage = storage;
        Config = config;
        ConfigHash = configHash;
        Keys = keys;
        KeyId = keyId;
        Clock = clock;
        Blobs = new BlobReader(storage, () => Index, keys);
        Snapshots = new SnapshotStore(this);
    }

    public IStorage Storage { get; }
    public RepositoryConfig Config { get; }
    public byte[] ConfigHash { get; }
    public RepositoryKeys Keys { get; }
    /// <summary>The key file this repository was opened with.</summary>
    public ObjectId KeyId { get; }
    public TimeProvider Clock { get; }
    /// <summary>The in-memory index. Each <see cref="LoadIndexAsync"/> replaces it with a fresh table.</summary>
    public IndexTable Index { get; private set; } = new();
    public BlobReader Blobs { get; }
    public SnapshotStore Snapshots { get; }

    /// <summary>Creates a repository: config first, then the first key file. Refuses a store that already has a config.</summary>
    public static async Task<ObjectId> InitAsync(IStorage storage, ReadOnlyMemory<byte> password, InitOptions options, TimeProvider? clock = null, CancellationToken ct = default)
    {
        clock ??= TimeProvider.System;
        if (await storage.StatAsync(Layout.Config, ct).ConfigureAwait(false) is not null) throw new RepositoryExistsException(storage.Location);
        var repoId = ObjectId.HashOf(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        using var keys = RepositoryKeys.Generate(repoId);
        var config = new RepositoryConfig
        {
            Version = RepositoryConfig.CurrentVersion,
            Id = repoId.ToString(),
            Created = clock.GetUtcNow(),
            ChunkerMin = options.ChunkerMin,
            ChunkerAverage = options.ChunkerAverage,
            ChunkerMax = options.ChunkerMax,
            PackSize = options.PackSize,
            Compression = "lz4",
            ReadPublicKey = Convert.ToBase64String(keys.ReadPublicKey),
            SigningPublicKey = Convert.ToBase64String(keys.SigningKey.PublicKey),
        };
        var configBytes = config.Serialize();
        RepositoryConfig.Parse(configBytes); // what we write must be what we accept
        // The key file first, the config last: until the config exists there is no repository, so an interrupted
        // init leaves at most a stray key file, and running init again just works.
        var keyBytes = KeyFile.Create(keys, ObjectId.HashOf(configBytes).ToArray(), password.Span, options.Kdf, options.Host, options.Username, clock.GetUtcNow());
        var keyId = ObjectId.HashOf(keyBytes);
        await storage.PutAsync(Layout.Key(keyId), keyBytes, ct).ConfigureAwait(false);
        if (await storage.PutAsync(Layout.Config, configBytes, ct).ConfigureAwait(false) == PutOutcome.AlreadyExists)
            throw new RepositoryExistsException(storage.Location);
        return keyId;
    }

    /// <summary>Verifies the config against the key file the password opens. Does not load the index.</summary>
    public static async Task<Repository> OpenAsync(IStorage storage, ReadOnlyMemory<byte> password, TimeProvider? clock = null, CancellationToken ct = default)
    {
        byte[] configBytes;
        try
        {
            configBytes = await StoredObjects.ReadAllAsync(storage, Layout.Config, 1024 * 1024, ct).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            throw new RepositoryNotFoundException(storage.Location);
        }
        var config = RepositoryConfig.Parse(configBytes);
        var configHash = ObjectId.HashOf(configBytes).ToArray();
        CorruptObjectException? damaged = null;
        await foreach (var obj in storage.ListAsync(Layout.KeysPrefix, ct).ConfigureAwait(false))
        {
            if (!Layout.TryParseId(obj.Name, out var keyId)) continue;
            try
            {
                var bytes = await StoredObjects.ReadVerifiedAsync(storage, obj.Name, keyId, 64 * 1024, ct).ConfigureAwait(false);
                var keys = KeyFile.Parse(bytes, obj.Name).TryOpen(password.Span, config, configHash, obj.Name);
                if (keys is not null) return new Repository(storage, config, configHash, keys, keyId, clock ?? TimeProvider.System);
            }
            catch (CorruptObjectException e)
            {
                // Another key file may still open (a key file left by an interrupted init belongs to another config);
                // report the damage only if none does.
                damaged ??= e;
            }
        }
        if (damaged is not null) throw damaged;
        throw new WrongPasswordException();
    }

    /// <summary>The prune marks seen by the last <see cref="LoadIndexAsync"/>.</summary>
    public IReadOnlyList<PruneMark> Marks { get; private set; } = [];

    /// <summary>Index files the last non-strict <see cref="LoadIndexAsync"/> skipped because they are damaged.</summary>
    public IReadOnlyList<CorruptObjectException> DamagedIndexFiles { get; private set; } = [];

    /// <summary>The index files read by the last <see cref="LoadIndexAsync"/>.</summary>
    public IReadOnlyList<string> IndexFiles { get; private set; } = [];

    /// <summary>
    /// Loads the prune marks, then every index file, in parallel, into a new in-memory index. Marks come first so
    /// that no index entry is trusted for dedup without knowing whether its pack is about to be deleted. An index file that vanishes while loading (a concurrent
    /// prune replaced it) is skipped: its packs are in the replacement, or deleted and marked.
    /// </summary>
    /// <param name="strict">
    /// Throw on a damaged index file (prune must: it may not decide anything on a partial index). Otherwise the file is
    /// skipped and listed in <see cref="DamagedIndexFiles"/>: a reader can still restore everything the other files
    /// describe, and a backup only stores again what the skipped file listed.
    /// </param>
    public async Task LoadIndexAsync(CancellationToken ct = default, bool strict = false)
    {
        var marks = await LoadMarksAsync(ct).ConfigureAwait(false);
        // A fresh table every time: a pack marked since the last load must lose its place to unmarked copies,
        // which a table that already settled on it could not do.
        var table = new IndexTable();
        var damaged = new ConcurrentQueue<CorruptObjectException>();
        IndexFiles = await LoadIndexIntoAsync(table, marks.SelectMany(m => m.Packs).ToHashSet(), ct, strict ? null : damaged.Enqueue).ConfigureAwait(false);
        DamagedIndexFiles = damaged.ToArray();
        Marks = marks;
        Index = table;
    }

    /// <summary>Loads every index file into <paramref name="table"/>, flagging the given packs as marked. Returns the files read.</summary>
    public async Task<IReadOnlyList<string>> LoadIndexIntoAsync(IndexTable table, IReadOnlySet<ObjectId> markedPacks, CancellationToken ct = default,
        Action<CorruptObjectException>? onDamaged = null)
    {
        var loaded = new ConcurrentQueue<string>();
        // An index file spends about 40 bytes per blob, which is close enough to size the table before loading.
        await ForEachIndexFileAsync((name, pack) => table.AddPack(pack, markedPacks.Contains(pack.PackId)), loaded.Enqueue, ct,
            totalBytes => table.Reserve((int)Math.Min(totalBytes / 40, int.MaxValue / 2)), onDamaged).ConfigureAwait(false);
        return loaded.ToArray();
    }

    /// <summary>
    /// Streams every pack description of every index file, in parallel, to <paramref name="onPack"/> (which must be
    /// thread-safe), then reports each file read. Files that vanish meanwhile are skipped; damaged ones throw.
    /// </summary>
    public async Task ForEachIndexFileAsync(Action<string, IndexPack> onPack, Action<string>? onFile = null, CancellationToken ct = default,
        Action<long>? onListed = null, Action<CorruptObjectException>? onDamaged = null)
    {
        var names = new ConcurrentQueue<string>();
        long totalBytes = 0;
        await foreach (var obj in Storage.ListAsync(Layout.IndexPrefix, ct).ConfigureAwait(false))
        {
            names.Enqueue(obj.Name);
            totalBytes += obj.Size;
        }
        onListed?.Invoke(totalBytes);
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (name, token) =>
        {
            if (!Layout.TryParseId(name, out var id)) return;
            byte[] bytes;
            try
            {
                bytes = await StoredObjects.ReadVerifiedAsync(Storage, name, id, Limits.MaxIndexSize, token).ConfigureAwait(false);
            }
            catch (ObjectNotFoundException)
            {
                return;
            }
            catch (CorruptObjectException e) when (onDamaged is not null)
            {
                onDamaged(e);
                return;
            }
            // Parse into a list first, so a file damaged half way adds nothing rather than half its packs.
            var packs = new List<IndexPack>();
            try
            {
                IndexFile.Open(bytes, Keys, name, packs.Add);
            }
            catch (CorruptObjectException e) when (onDamaged is not null)
            {
                onDamaged(e);
                return;
            }
            foreach (var p in packs) onPack(name, p);
            onFile?.Invoke(name);
        }).ConfigureAwait(false);
    }

    /// <summary>Reads every prune mark with a valid repository signature; forged or damaged marks are ignored.</summary>
    public async Task<List<PruneMark>> LoadMarksAsync(CancellationToken ct = default)
    {
        var marks = new List<PruneMark>();
        await foreach (var obj in Storage.ListAsync(PruneMark.Prefix, ct).ConfigureAwait(false))
        {
            if (!Layout.TryParseId(obj.Name, out var id)) continue;
            try
            {
                var bytes = await StoredObjects.ReadVerifiedAsync(Storage, obj.Name, id, Limits.MaxIndexSize, ct).ConfigureAwait(false);
                marks.Add(PruneMark.Open(bytes, id, obj.LastModified, Keys, Config.SigningPublicKeyBytes, obj.Name));
            }
            catch (Exception e) when (e is CorruptObjectException or ObjectNotFoundException)
            {
                // A damaged or forged mark only costs dedup nothing here; check reports it.
            }
        }
        return marks;
    }

    /// <summary>Announces a backup to prune (spec "Prune"): a create-only marker written before the index is read.</summary>
    public async Task<ObjectId> WriteBackupMarkerAsync(string host, CancellationToken ct = default)
    {
        var bytes = BackupMarker.Seal(Clock.GetUtcNow(), host, Keys);
        var id = ObjectId.HashOf(bytes);
        await Storage.PutAsync(BackupMarker.Prefix + id, bytes, ct).ConfigureAwait(false);
        return id;
    }

    /// <summary>Starts storing blobs. Dispose without Flush abandons the session; what was stored stays reusable.</summary>
    public RepositoryWriter StartWriting(int uploadConcurrency = 4, int indexEveryPacks = 4) => new(this, uploadConcurrency, indexEveryPacks);

    public ValueTask DisposeAsync()
    {
        Blobs.Dispose();
        Keys.Dispose();
        return ValueTask.CompletedTask;
    }
}
