using Dedup.Format;

namespace Dedup.Repository.PutOnly;

/// <summary>
/// A put-only host's dedup source (spec prune-protocol "Put-only writers"): the blobs of its newest snapshot of this
/// path set, as its local state records them, and the blobs stored in the current run (the repository's index table,
/// which on such a host is never loaded and holds only this run's packs and the resumed packs the resume rule lets it
/// reuse). Nothing else: a put-only host reads no marks, so only blobs that forget keeps used are safe to leave out.
/// Memory: one entry per blob of the newest snapshot (about 60 bytes each: 64 MB for 1 TiB in 1 MiB chunks).
/// </summary>
public sealed class KnownBlobs(Repository repo, IReadOnlySet<ObjectId> newestSnapshot) : IDedupSource
{
    public IReadOnlySet<ObjectId> NewestSnapshot => newestSnapshot;

    public bool Contains(in ObjectId id) => newestSnapshot.Contains(id) || repo.Index.Contains(id, repo.Keys.Own.Id);
}
