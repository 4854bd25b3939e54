using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Repository;

/// <summary>
/// What a writer deduplicates against: the blobs it may leave out because they are stored where it may rely on them.
/// A host that reads the repository asks its index (<see cref="IndexDedupSource"/>); a host that may only upload asks
/// what it knows locally (<see cref="PutOnly.KnownBlobs"/>). Blobs the writer stored in this run are in the index
/// table either way (<see cref="RepositoryWriter"/> adds each pack it stored).
/// </summary>
public interface IDedupSource
{
    bool Contains(in ObjectId id);
}

/// <summary>The index as loaded (marks applied): a blob counts in this domain in a pack no mark lists (spec "Client rules").</summary>
public sealed class IndexDedupSource(Repository repo, DomainId domain) : IDedupSource
{
    // repo.Index, not a captured table: each LoadIndexAsync replaces it.
    public bool Contains(in ObjectId id) => repo.Index.Contains(id, domain);
}
