using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Repository;

namespace Dedup.Archiver.Backup;

/// <summary>
/// Where a backup puts the blobs it finds new: the repository's writer, or for a dry run a counter that stores
/// nothing. The walk, the chunking and the tree encoding are the same either way, so a dry run reports exactly
/// what a real run would add.
/// </summary>
internal interface IBlobSink
{
    /// <summary>True when the blob is neither stored nor being added: the caller must now add it (and only this caller).</summary>
    bool Reserve(in ObjectId id);

    /// <summary>True when the blob is stored where this backup may rely on it (its domain, a pack no mark lists).</summary>
    bool IsStored(in ObjectId id);

    /// <summary>The dedup domain the backup writes into.</summary>
    DomainId Domain { get; }

    /// <summary>Adds a blob the caller reserved.</summary>
    ValueTask AddAsync(BlobType type, ObjectId id, ReadOnlyMemory<byte> plaintext, CancellationToken ct);

    /// <summary>Hashes a blob and adds it unless the repository has it. Returns its ID.</summary>
    ValueTask<ObjectId> SaveAsync(BlobType type, ReadOnlyMemory<byte> plaintext, CancellationToken ct);

    long BlobsAdded { get; }
    long RawBytesAdded { get; }
    /// <summary>Bytes after compression and encryption; 0 for a dry run, which seals nothing.</summary>
    long StoredBytesAdded { get; }
}

/// <summary>The real thing: blobs go into packs in the repository.</summary>
internal sealed class WriterSink(RepositoryWriter writer) : IBlobSink
{
    public bool Reserve(in ObjectId id) => writer.Reserve(id);
    public bool IsStored(in ObjectId id) => writer.IsStored(id);
    public DomainId Domain => writer.Domain.Id;
    public ValueTask AddAsync(BlobType type, ObjectId id, ReadOnlyMemory<byte> plaintext, CancellationToken ct) => writer.AddAsync(type, id, plaintext, ct);
    public ValueTask<ObjectId> SaveAsync(BlobType type, ReadOnlyMemory<byte> plaintext, CancellationToken ct) => writer.SaveAsync(type, plaintext, ct);
    public long BlobsAdded => writer.Statistics.BlobsAdded;
    public long RawBytesAdded => writer.Statistics.RawBytesAdded;
    public long StoredBytesAdded => writer.Statistics.StoredBytesAdded;
}

/// <summary>
/// A dry run's sink: a blob counts as added when neither the dedup source nor this run has it, and nothing is written.
/// It remembers the IDs it counted (32 bytes each, as the real writer's in-flight set does) so that a blob met
/// twice in one run counts once.
/// </summary>
internal sealed class DryRunSink(Dedup.Repository.Repository repo, IDedupSource stored) : IBlobSink
{
    private readonly ConcurrentDictionary<ObjectId, byte> _counted = new();
    private long _blobs, _raw;

    public bool Reserve(in ObjectId id) => !stored.Contains(id) && _counted.TryAdd(id, 0);
    public bool IsStored(in ObjectId id) => stored.Contains(id);
    public DomainId Domain => repo.Keys.Own.Id;

    public ValueTask AddAsync(BlobType type, ObjectId id, ReadOnlyMemory<byte> plaintext, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _blobs);
        Interlocked.Add(ref _raw, plaintext.Length);
        return ValueTask.CompletedTask;
    }

    public async ValueTask<ObjectId> SaveAsync(BlobType type, ReadOnlyMemory<byte> plaintext, CancellationToken ct)
    {
        var id = repo.Keys.Own.BlobId(plaintext.Span);
        if (Reserve(id)) await AddAsync(type, id, plaintext, ct).ConfigureAwait(false);
        return id;
    }

    public long BlobsAdded => Interlocked.Read(ref _blobs);
    public long RawBytesAdded => Interlocked.Read(ref _raw);
    public long StoredBytesAdded => 0;
}
