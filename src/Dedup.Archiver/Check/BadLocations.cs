using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Repository.Index;

namespace Dedup.Archiver.Check;

/// <summary>One index file's claim on a pack, as check loaded it: its number in the table, what it says, and its domain.</summary>
/// <summary>One index claim of a pack; its blob list lives in the table only (<see cref="IndexTable.ClaimedPack"/>).</summary>
internal sealed record IndexedClaim(int Claim, ObjectId PackId, DomainId Domain);

/// <summary>
/// Index entries (locations) a reader would fail to read from, with the object to blame. A blob is lost to a snapshot
/// only when every location of it in the snapshot's domain is bad: a damaged duplicate, or a false claim a compromised
/// writer made, costs nothing while a good copy remains.
/// </summary>
internal sealed class BadLocations
{
    private readonly ConcurrentDictionary<int, (string Pack, string Reason)> _bad = new();

    public void Mark(int entry, string pack, string reason) => _bad.TryAdd(entry, (pack, reason));

    /// <summary>Marks every entry of a claim (its pack is missing, or has another size than the claim implies).</summary>
    public void MarkClaim(IndexTable table, int claim, string pack, string reason)
    {
        var c = table.GetClaim(claim);
        for (int i = 0; i < c.Count; i++) Mark(c.FirstEntry + i, pack, reason);
    }

    /// <summary>Marks the entries of a claim that hold the given blob.</summary>
    public void MarkBlob(IndexTable table, int claim, ObjectId id, string pack, string reason)
    {
        var c = table.GetClaim(claim);
        for (int i = 0; i < c.Count; i++)
            if (table.EntryId(c.FirstEntry + i) == id) Mark(c.FirstEntry + i, pack, reason);
    }

    public bool IsBad(int entry) => _bad.ContainsKey(entry);

    /// <summary>Why the blob cannot be read in its domain, or null when some location of it is not known bad.</summary>
    public (string Pack, string Reason)? WhyLost(IReadOnlyList<BlobLocation> locations)
    {
        (string, string)? first = null;
        foreach (var l in locations)
        {
            if (!_bad.TryGetValue(l.Entry, out var why)) return null;
            first ??= why;
        }
        return first;
    }
}
