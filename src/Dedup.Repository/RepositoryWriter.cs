using System.Collections.Concurrent;
using System.Threading.Channels;
using Dedup.Format;
using Dedup.Repository.Index;
using Dedup.Repository.Packs;
using Dedup.Storage;

namespace Dedup.Repository;

/// <summary>Counters of what a writer stored.</summary>
public sealed class WriteStatistics
{
    internal long _blobs, _raw, _stored, _packs, _indexes;
    public long BlobsAdded => Interlocked.Read(ref _blobs);
    public long RawBytesAdded => Interlocked.Read(ref _raw);
    public long StoredBytesAdded => Interlocked.Read(ref _stored);
    public long PacksWritten => Interlocked.Read(ref _packs);
    public long IndexFilesWritten => Interlocked.Read(ref _indexes);
}

/// <summary>
/// Stores new blobs: deduplicates against the index and against blobs in flight, seals them into packs
/// (one open pack per worker and type, so compression and encryption run on every core without a shared lock),
/// uploads finished packs through a bounded queue, and writes index files only after the packs they list are
/// stored. Every 4 packs (or 30 s) it writes an index file, so an interrupted backup leaves reusable, indexed packs.
/// Nothing it does deletes or overwrites an object.
/// </summary>
public sealed class RepositoryWriter : IAsyncDisposable
{
    private readonly Repository _repo;
    private readonly ConcurrentDictionary<ObjectId, byte> _inFlight = new();
    private readonly ConcurrentBag<PackWriter>[] _idle = [new(), new()];
    private readonly Channel<FinishedPack> _uploads;
    private readonly Task[] _uploaders;
    private readonly List<IndexPack> _unindexed = [];
    private readonly SemaphoreSlim _indexLock = new(1, 1);
    private readonly CancellationTokenSource _failed = new();
    // At most one open pack per core and type: callers may seal from more tasks than that, and each would otherwise
    // open a pack of its own (20 MiB each).
    private readonly SemaphoreSlim _sealSlots = new(Environment.ProcessorCount);
    private readonly int _indexEvery;
    private DateTimeOffset _lastIndexWrite;
    private Exception? _error;
    private bool _completed;

    private readonly Keys.DomainKeys _domain;
    private readonly IDedupSource _stored;

    internal RepositoryWriter(Repository repo, Keys.DomainKeys domain, IDedupSource stored, int uploadConcurrency, int indexEveryPacks)
    {
        _repo = repo;
        _domain = domain;
        _stored = stored;
        _indexEvery = indexEveryPacks;
        _lastIndexWrite = repo.Clock.GetUtcNow();
        // One finished pack waits while the uploaders work: memory stays bounded by (open packs + 1 + uploaders) packs
        // whatever the data size, and a writer blocks (backpressure) rather than queueing more.
        _uploads = Channel.CreateBounded<FinishedPack>(new BoundedChannelOptions(1) { SingleReader = false });
        _uploaders = Enumerable.Range(0, uploadConcurrency).Select(_ => Task.Run(UploadLoopAsync)).ToArray();
    }

    public WriteStatistics Statistics { get; } = new();

    /// <summary>Called after each pack is stored, before it is indexed (the archiver journals it locally).</summary>
    public Action<IndexPack>? PackStored { get; set; }

    /// <summary>The dedup domain this writer stores blobs of.</summary>
    public Keys.DomainKeys Domain => _domain;

    /// <summary>True when the blob is neither stored (as the dedup source says) nor being stored: the caller must now add it (and only this caller).</summary>
    public bool Reserve(in ObjectId id) => !_stored.Contains(id) && _inFlight.TryAdd(id, 0);

    /// <summary>True when the dedup source says the blob is stored where this writer may rely on it.</summary>
    public bool IsStored(in ObjectId id) => _stored.Contains(id);

    /// <summary>Hashes a blob and stores it unless the repository has it. Returns its ID.</summary>
    public async ValueTask<ObjectId> SaveAsync(BlobType type, ReadOnlyMemory<byte> plaintext, CancellationToken ct = default)
    {
        var id = _domain.BlobId(plaintext.Span);
        if (Reserve(id)) await AddAsync(type, id, plaintext, ct).ConfigureAwait(false);
        return id;
    }

    /// <summary>Seals a reserved blob into a pack. CPU work happens on the calling thread.</summary>
    public async ValueTask AddAsync(BlobType type, ObjectId id, ReadOnlyMemory<byte> plaintext, CancellationToken ct = default)
    {
        ThrowIfFailed();
        await _sealSlots.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var bag = _idle[(int)type];
            if (!bag.TryTake(out var writer)) writer = new PackWriter(type, _domain.Id, _repo.Keys.ReadPublicKey, _repo.Config.PackSize,
                _repo.Keys.Kind == Keys.KeyKind.Full ? PackOrigin.FullKey : PackOrigin.Writer);
            int stored;
            try
            {
                stored = writer.Add(id, plaintext.Span);
            }
            catch
            {
                writer.Dispose();
                throw;
            }
            Interlocked.Increment(ref Statistics._blobs);
            Interlocked.Add(ref Statistics._raw, plaintext.Length);
            Interlocked.Add(ref Statistics._stored, stored);
            if (writer.IsFull) await FinishAsync(writer, ct).ConfigureAwait(false);
            else bag.Add(writer);
        }
        finally
        {
            _sealSlots.Release();
        }
    }

    private async ValueTask FinishAsync(PackWriter writer, CancellationToken ct)
    {
        FinishedPack pack;
        try
        {
            pack = writer.Finish();
        }
        finally
        {
            writer.Dispose();
        }
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _failed.Token);
            await _uploads.Writer.WriteAsync(pack, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_error is not null)
        {
            pack.Dispose();
            ThrowIfFailed();
        }
        catch
        {
            pack.Dispose();
            throw;
        }
    }

    private async Task UploadLoopAsync()
    {
        await foreach (var pack in _uploads.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            using (pack)
            {
                if (_error is not null) continue;
                try
                {
                    // AlreadyExists is fine: the name is the hash of the bytes, so the same pack is there.
                    // Data packs are read only by restores and checks, so they may go to a cold class; tree packs stay
                    // hot with the metadata, so listing and backing up never wait for a retrieval.
                    var hint = pack.Index.Type == BlobType.Data ? PutHint.RarelyRead : PutHint.None;
                    await _repo.Storage.PutAsync(Layout.Pack(pack.Id), pack.Bytes, hint, _failed.Token).ConfigureAwait(false);
                    Interlocked.Increment(ref Statistics._packs);
                    PackStored?.Invoke(pack.Index);
                    _repo.Index.AddPack(pack.Index, _domain.Id);
                    foreach (var b in pack.Index.Blobs) _inFlight.TryRemove(b.Id, out _);
                    bool due;
                    lock (_unindexed)
                    {
                        _unindexed.Add(pack.Index);
                        // Often enough that a backup cut short by an outage or a kill leaves little unindexed (and so not reusable).
                        due = _unindexed.Count >= _indexEvery || _repo.Clock.GetUtcNow() - _lastIndexWrite > TimeSpan.FromSeconds(30);
                    }
                    if (due) await WriteIndexAsync(_failed.Token).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    Fail(e);
                }
            }
        }
    }

    private void Fail(Exception e)
    {
        if (e is OperationCanceledException && _error is not null) return;
        Interlocked.CompareExchange(ref _error, e, null);
        _failed.Cancel();
    }

    private void ThrowIfFailed()
    {
        if (_error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_error).Throw();
    }

    private async Task WriteIndexAsync(CancellationToken ct)
    {
        await _indexLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            IndexPack[] batch;
            lock (_unindexed)
            {
                batch = _unindexed.ToArray();
                _unindexed.Clear();
                _lastIndexWrite = _repo.Clock.GetUtcNow();
            }
            if (batch.Length == 0) return;
            var bytes = IndexFile.Seal(batch, _domain, _repo.Keys);
            await _repo.Storage.PutAsync(Layout.Index(ObjectId.HashOf(bytes)), bytes, ct).ConfigureAwait(false);
            Interlocked.Increment(ref Statistics._indexes);
        }
        finally
        {
            _indexLock.Release();
        }
    }

    /// <summary>Finishes open packs, waits for every upload, and writes the last index file. After this, every added blob is stored and indexed.</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        ThrowIfFailed();
        foreach (var bag in _idle)
            while (bag.TryTake(out var w))
            {
                if (w.Count == 0) w.Dispose();
                else await FinishAsync(w, ct).ConfigureAwait(false);
            }
        _uploads.Writer.TryComplete();
        _completed = true;
        await Task.WhenAll(_uploaders).ConfigureAwait(false);
        ThrowIfFailed();
        await WriteIndexAsync(ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_completed)
        {
            // Abandoned (error or cancellation): stop uploads; what was stored stays for the next run to reuse.
            _failed.Cancel();
            _uploads.Writer.TryComplete();
            try { await Task.WhenAll(_uploaders).ConfigureAwait(false); } catch { /* already reported */ }
            // Index what did get stored, best effort, so that the next backup reuses it instead of uploading it again.
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await WriteIndexAsync(cts.Token).ConfigureAwait(false);
            }
            catch
            {
                // The store is failing; those packs stay unindexed until 'repair index' or prune finds them.
            }
        }
        foreach (var bag in _idle)
            while (bag.TryTake(out var w)) w.Dispose();
        while (_uploads.Reader.TryRead(out var p)) p.Dispose();
        _failed.Dispose();
        _indexLock.Dispose();
        _sealSlots.Dispose();
    }
}
