using System.Collections.Concurrent;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Snapshots;
using Dedup.Repository.Trust;
using Dedup.Storage;

namespace Dedup.Repository;

/// <summary>How to pick and bound the key files tried when opening.</summary>
public sealed record OpenOptions
{
    public static OpenOptions Default { get; } = new();
    /// <summary>The key file to try first: the one this machine opened last, or one the user names.</summary>
    public ObjectId? KeyHint { get; init; }
    /// <summary>How many key files to try at most (each costs one Argon2 run).</summary>
    public int MaxKeyFiles { get; init; } = 32;
    /// <summary>The most Argon2 work to do for one key file; see <see cref="Argon2Parameters.Ceiling"/>.</summary>
    public Argon2Parameters KdfCeiling { get; init; } = Argon2Parameters.Ceiling;
}

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

    /// <summary>A reader of many blobs at once, pack by pack (restore, dump, copy, repack); it shares <see cref="Blobs"/>' key cache.</summary>
    public PackStreamer Streamer(PackStreamerOptions? options = null) => new(Storage, Blobs, options);

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

    /// <summary>
    /// Verifies the config against the key file the password opens. Does not load the index. Key files are tried
    /// <paramref name="options"/>'s hint first, then the others, at most <see cref="OpenOptions.MaxKeyFiles"/> of them, and
    /// none whose Argon2 costs exceed the ceiling: a store full of planted key files cannot make opening unbounded work.
    /// </summary>
    public static async Task<Repository> OpenAsync(IStorage storage, ReadOnlyMemory<byte> password, TimeProvider? clock = null, CancellationToken ct = default,
        OpenOptions? options = null)
    {
        options ??= OpenOptions.Default;
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
        // A key file the admin removed and someone uploaded again (with its old password) never opens.
        var graveyard = await Graveyard.LoadAsync(storage, config.SigningPublicKeyBytes, ct).ConfigureAwait(false);
        CorruptObjectException? damaged = null;
        KdfTooExpensiveException? tooExpensive = null;
        int tried = 0, denied = 0;
        KeyFile? Parse(ObjectId keyId, byte[] bytes)
        {
            try
            {
                return KeyFile.Parse(bytes, Layout.Key(keyId));
            }
            catch (CorruptObjectException e)
            {
                damaged ??= e;
                return null;
            }
        }
        Repository? TryOpen(ObjectId keyId, KeyFile file)
        {
            tried++;
            try
            {
                var keys = file.TryOpen(password.Span, config, configHash, Layout.Key(keyId), options.KdfCeiling);
                return keys is null ? null : new Repository(storage, config, configHash, keys, keyId, clock ?? TimeProvider.System) { _graveyard = Task.FromResult(graveyard) };
            }
            catch (CorruptObjectException e)
            {
                // Another key file may still open (a key file left by an interrupted init belongs to another config);
                // report the damage only if none does.
                damaged ??= e;
            }
            catch (KdfTooExpensiveException e)
            {
                tooExpensive ??= e;
            }
            return null;
        }

        // The hint first, read by name: a host whose credentials may read only its own key file opens without listing.
        if (options.KeyHint is { } hint && !graveyard.IsBuried(TombstoneKind.KeyFile, hint))
        {
            try
            {
                var bytes = await StoredObjects.ReadVerifiedAsync(storage, Layout.Key(hint), hint, KeyFile.MaxSize, ct).ConfigureAwait(false);
                if (Parse(hint, bytes) is { } file && TryOpen(hint, file) is { } opened) return opened;
            }
            catch (ObjectNotFoundException)
            {
                // The remembered key was removed; try the others.
            }
            catch (CorruptObjectException e)
            {
                damaged ??= e;
            }
        }

        // Then the listed ones, in listing order, at most MaxKeyFiles tried. A key file asking for more Argon2 work than
        // the default is put off until the others were tried (cheapest first): costly planted files (up to the ceiling)
        // then cost nothing while a genuine key opens.
        var costly = new List<(ObjectId Id, KeyFile File)>();
        long defaultCost = (long)Argon2Parameters.Default.MemoryKiB * Argon2Parameters.Default.Iterations;
        int read = 0;
        bool capped = false;
        try
        {
            await foreach (var obj in storage.ListAsync(Layout.KeysPrefix, ct).ConfigureAwait(false))
            {
                if (!Layout.TryParseId(obj.Name, out var keyId) || keyId == options.KeyHint || graveyard.IsBuried(TombstoneKind.KeyFile, keyId)) continue;
                if (tried == options.MaxKeyFiles) break;
                if (read++ == MaxKeyFilesRead)
                {
                    capped = true;
                    break;
                }
                try
                {
                    var bytes = await StoredObjects.ReadVerifiedAsync(storage, obj.Name, keyId, KeyFile.MaxSize, ct).ConfigureAwait(false);
                    if (Parse(keyId, bytes) is not { } file) continue;
                    bool overCeiling = file.MemoryKiB > options.KdfCeiling.MemoryKiB || file.Iterations > options.KdfCeiling.Iterations
                        || file.Parallelism > options.KdfCeiling.Parallelism;
                    // Over the ceiling: refused at once, without Argon2 (and it counts as one of the tries).
                    if (!overCeiling && (long)file.MemoryKiB * file.Iterations > defaultCost) costly.Add((keyId, file));
                    else if (TryOpen(keyId, file) is { } opened) return opened;
                }
                catch (StorageAccessDeniedException)
                {
                    // Credentials that may read only their own key file (spec "Policies"): not ours.
                    denied++;
                }
                catch (ObjectNotFoundException)
                {
                    // Removed while we listed.
                }
                catch (CorruptObjectException e)
                {
                    damaged ??= e;
                }
            }
        }
        catch (StorageAccessDeniedException) when (options.KeyHint is not null)
        {
            // May not list keys/: the hint was all there is.
        }
        foreach (var (keyId, file) in costly.OrderBy(c => (long)c.File.MemoryKiB * c.File.Iterations))
        {
            if (tried == options.MaxKeyFiles) break;
            if (TryOpen(keyId, file) is { } opened) return opened;
        }
        if (tried == options.MaxKeyFiles)
            throw new RepositoryException($"No key file opened among the first {options.MaxKeyFiles} tried. Name yours with --key ID (or DEDUP_KEY), or check the password.");
        // Whoever may put keys/ can plant files that do not even parse: past the cap the answer is the same, not "damaged".
        if (capped)
            throw new RepositoryException($"No key file opened among the first {MaxKeyFilesRead} read. Name yours with --key ID (or DEDUP_KEY), or check the password.");
        if (tooExpensive is not null) throw tooExpensive;
        if (denied > 0 && damaged is null)
            throw new RepositoryException($"No key file this password opens could be read: {denied} key file(s) are not readable with these credentials. Name yours with --key ID (or DEDUP_KEY); 'dedup key add' printed its ID.");
        if (damaged is not null) throw damaged;
        throw new WrongPasswordException();
    }

    /// <summary>
    /// Opens a repository from a host's enrolment (<see cref="PutOnly.Enrollment"/>), without reading anything: the
    /// config and key file come from the enrolment, the key file's config hash is checked against the config as when
    /// opening from the store, and the store is wrapped so that any read fails (<see cref="PutOnlyStorage"/>). Only a
    /// write-only key can be enrolled: a full key reads, and deduplicates against, the whole repository.
    /// </summary>
    public static Repository OpenEnrolled(IStorage storage, PutOnly.Enrollment enrollment, ReadOnlySpan<byte> password, TimeProvider? clock = null,
        Argon2Parameters? kdfCeiling = null)
    {
        var config = RepositoryConfig.Parse(enrollment.Config);
        var configHash = ObjectId.HashOf(enrollment.Config).ToArray();
        var name = Layout.Key(enrollment.KeyId);
        var keys = KeyFile.Parse(enrollment.KeyFile, name).TryOpen(password, config, configHash, name, kdfCeiling ?? Argon2Parameters.Ceiling)
                   ?? throw new WrongPasswordException();
        if (keys.Kind != KeyKind.WriteOnly)
        {
            keys.Dispose();
            throw new RepositoryException("Only a write-only key can be enrolled: a full key reads the repository. Use 'dedup key add --write-only --enroll FILE'.");
        }
        return new Repository(new PutOnlyStorage(storage), config, configHash, keys, enrollment.KeyId, clock ?? TimeProvider.System)
        {
            _graveyard = Task.FromResult(Graveyard.Empty), IsPutOnly = true,
        };
    }

    /// <summary>
    /// A put-only host whose local state for a path set is missing (spec prune-protocol P5), and whose credentials
    /// may read its own index files, loads the marks and every index file its key can read and whose signer is trusted
    /// for its domain (its own files, signatures verified), as a reading writer does: its backup marker is already
    /// stored (P1), so client rule 1 holds. Returns false, with nothing loaded, when the store refused any read (a
    /// listing, a mark, a revocation or an index file): then the run uploads everything (P5).
    /// </summary>
    public async Task<bool> TryLoadOwnIndexAsync(CancellationToken ct = default)
    {
        if (Storage is not PutOnlyStorage putOnly) throw new InvalidOperationException("only a host opened from its enrolment rebuilds its state from its index");
        int refusedBefore = putOnly.RefusedReads;
        using (putOnly.AllowReads())
        {
            try
            {
                await LoadIndexAsync(ct).ConfigureAwait(false);
            }
            catch (StorageAccessDeniedException)
            {
            }
        }
        if (putOnly.RefusedReads == refusedBefore) return true;
        // Some read was refused, though the loaders may have skipped it like a damaged object: a mark not seen could
        // let this run rely on a pack about to be deleted. Nothing loaded counts.
        Index = new IndexTable();
        Marks = [];
        IndexReport = IndexLoadReport.Empty;
        _trust = null;
        return false;
    }

    /// <summary>True when opened from an enrolment: the store is never read (see <see cref="OpenEnrolled"/>).</summary>
    public bool IsPutOnly { get; private init; }

    /// <summary>How many key files opening reads at most (their envelopes are small; only <see cref="OpenOptions.MaxKeyFiles"/> are tried).</summary>
    public const int MaxKeyFilesRead = 256;

    private Task<TrustPolicy>? _trust;
    private Task<Graveyard>? _graveyard;

    /// <summary>The admin's tombstones: snapshots and key files it removed, which stay gone if they reappear (loaded once).</summary>
    public Task<Graveyard> GetGraveyardAsync(CancellationToken ct = default) =>
        _graveyard ??= Graveyard.LoadAsync(Storage, Config.SigningPublicKeyBytes, ct);

    /// <summary>Forgets the loaded tombstones, so the next look reads them again (after this process wrote one).</summary>
    public void ForgetLoadedGraveyard() => _graveyard = null;

    /// <summary>Whom to believe: the config's signing key, its certificates and its revocations (loaded once).</summary>
    public Task<TrustPolicy> GetTrustAsync(CancellationToken ct = default) =>
        _trust ??= LoadTrustAsync(ct);

    private async Task<TrustPolicy> LoadTrustAsync(CancellationToken ct) =>
        new(Config.SigningPublicKeyBytes, await KeyManager.LoadRevocationsAsync(Storage, Config.SigningPublicKeyBytes, ct).ConfigureAwait(false));

    /// <summary>The prune marks seen by the last <see cref="LoadIndexAsync"/>.</summary>
    public IReadOnlyList<PruneMark> Marks { get; private set; } = [];

    /// <summary>What the last <see cref="LoadIndexAsync"/> read and what it left out, and why.</summary>
    public IndexLoadReport IndexReport { get; private set; } = IndexLoadReport.Empty;

    /// <summary>Index files the last <see cref="LoadIndexAsync"/> skipped because they are damaged.</summary>
    public IReadOnlyList<CorruptObjectException> DamagedIndexFiles => IndexReport.Damaged;

    /// <summary>
    /// Loads the prune marks, then every index file this key can read, in parallel, into a new in-memory index. Marks
    /// come first so that no index entry is trusted for dedup without knowing whether its pack is about to be deleted.
    /// An index file that vanishes while loading (a concurrent prune replaced it) is skipped: its packs are in the
    /// replacement, or deleted and marked. Damaged files, and files whose signer is not trusted for their domain, are
    /// skipped and listed in <see cref="IndexReport"/>: readers restore everything the rest describe, a backup only
    /// stores again what a skipped file listed, and prune decides what the skipped files mean for it.
    /// </summary>
    public async Task LoadIndexAsync(CancellationToken ct = default)
    {
        var marks = await LoadMarksAsync(ct).ConfigureAwait(false);
        // A fresh table every time: a pack marked since the last load must lose its place to unmarked copies,
        // which a table that already settled on it could not do.
        var table = new IndexTable();
        IndexReport = await LoadIndexIntoAsync(table, marks.SelectMany(m => m.Packs).ToHashSet(), ct).ConfigureAwait(false);
        Marks = marks;
        Index = table;
    }

    /// <summary>
    /// The most blobs the table is sized for before any index file is read (32 MiB of hash slots). Listed sizes are only
    /// a hint, and a hostile store can report any: past this the table grows with what the files really hold.
    /// </summary>
    public const int MaxReservedBlobs = 1 << 22;

    /// <summary>Loads every readable, trusted index file into <paramref name="table"/>, flagging the given packs as marked.</summary>
    public async Task<IndexLoadReport> LoadIndexIntoAsync(IndexTable table, IReadOnlySet<ObjectId> markedPacks, CancellationToken ct = default)
    {
        var report = new IndexLoadReport.Builder();
        await ForEachIndexFileAsync((_, pack, domain, _) => table.AddPack(pack, domain, markedPacks.Contains(pack.PackId)), report, ct,
            totalBytes => table.Reserve((int)Math.Min(totalBytes / 40, MaxReservedBlobs))).ConfigureAwait(false);
        return report.Build();
    }

    /// <summary>
    /// Streams every pack of every index file this key can read and whose signer is trusted for its domain, in parallel,
    /// to <paramref name="onPack"/> (which must be thread-safe). Files that vanish meanwhile are skipped; damaged and
    /// untrusted ones are recorded in <paramref name="report"/> and skipped; files of other domains are counted, unread,
    /// when this key cannot read them.
    /// </summary>
    public async Task ForEachIndexFileAsync(Action<string, IndexPack, DomainId, Signer> onPack, IndexLoadReport.Builder report, CancellationToken ct = default,
        Action<long>? onListed = null)
    {
        var trust = await GetTrustAsync(ct).ConfigureAwait(false);
        var names = new List<(string Name, ObjectId Id, DateTimeOffset StoredAt)>();
        long totalBytes = 0;
        await foreach (var obj in Storage.ListAsync(Layout.IndexPrefix, ct).ConfigureAwait(false))
        {
            // Only valid names count, and each at most the largest index file: a hostile listing cannot make the
            // table reserve more than the files could describe.
            if (!Layout.TryParseId(obj.Name, out var id)) continue;
            names.Add((obj.Name, id, obj.LastModified));
            totalBytes += Math.Clamp(obj.Size, 0, Limits.MaxIndexSize);
        }
        onListed?.Invoke(totalBytes);
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (file, token) =>
        {
            byte[] bytes;
            try
            {
                bytes = await StoredObjects.ReadListedAsync(Storage, file.Name, file.Id, Limits.MaxIndexSize, token).ConfigureAwait(false);
            }
            catch (ObjectNotFoundException)
            {
                return;
            }
            catch (CorruptObjectException e)
            {
                report.Damaged(e);
                return;
            }
            // Parse into a list first, so a file damaged half way adds nothing rather than half its packs.
            var packs = new List<IndexPack>();
            IndexFileHeader header;
            Signer signer;
            try
            {
                header = IndexFile.ReadHeader(bytes, file.Name);
                if (!Keys.CanUse(header.Domain))
                {
                    report.OtherDomain();
                    return;
                }
                signer = trust.Evaluate(header.Signer, header.Certificate, header.SignatureValid, header.Domain, file.StoredAt);
                if (!signer.IsTrusted)
                {
                    report.Untrusted(file.Name, signer);
                    return;
                }
                IndexFile.Open(bytes, Keys.For(header.Domain), signer.Trust, file.Name, packs.Add);
            }
            catch (CorruptObjectException e)
            {
                report.Damaged(e);
                return;
            }
            foreach (var p in packs) onPack(file.Name, p, header.Domain, signer);
            report.Read(file.Name);
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
                marks.Add(PruneMark.Open(bytes, id, obj.LastModified, Config.SigningPublicKeyBytes, obj.Name));
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

    /// <summary>
    /// Starts storing blobs of <paramref name="domain"/> (default: this key's own; only a full key may name another, as
    /// prune's repacking does). Dispose without Flush abandons the session; what was stored stays reusable.
    /// <paramref name="dedupSource"/> is what it may leave out; default: the loaded index of that domain.
    /// </summary>
    public RepositoryWriter StartWriting(DomainId? domain = null, int uploadConcurrency = 4, int indexEveryPacks = 4, IDedupSource? dedupSource = null)
    {
        var keys = Keys.For(domain ?? Keys.Own.Id);
        return new(this, keys, dedupSource ?? new IndexDedupSource(this, keys.Id), uploadConcurrency, indexEveryPacks);
    }

    public ValueTask DisposeAsync()
    {
        Blobs.Dispose();
        Index.Dispose();
        Keys.Dispose();
        return ValueTask.CompletedTask;
    }
}
