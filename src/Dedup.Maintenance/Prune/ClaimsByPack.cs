using Dedup.Format;
using Dedup.Repository.Index;

namespace Dedup.Maintenance.Prune;

/// <summary>
/// The index's claims grouped by pack: the claim numbers sorted by pack ID (and by number within a pack), 4 bytes a claim,
/// a pack's found by binary search. A dictionary of lists cost ~120 bytes a pack (76 MiB at 625,000 packs) to say the
/// same; the claims themselves are the index's.
/// </summary>
internal sealed class ClaimsByPack
{
    private readonly PackClaim[] _claims;
    private readonly int[] _order;

    public ClaimsByPack(IReadOnlyList<PackClaim> claims)
    {
        _claims = claims as PackClaim[] ?? [.. claims];
        _order = new int[_claims.Length];
        // Sorted by a copy of the IDs (32 bytes a claim, dropped at the end), which is several times faster than a
        // comparison that looks each claim up; then each pack's few claims by number.
        var ids = new ObjectId[_claims.Length];
        for (int c = 0; c < _order.Length; c++) (_order[c], ids[c]) = (c, _claims[c].Id);
        Array.Sort(ids, _order);
        for (int start = 0, end; start < _order.Length; start = end)
        {
            for (end = start + 1; end < _order.Length && ids[end] == ids[start]; end++) { }
            if (end - start > 1) Array.Sort(_order, start, end - start);
            PackCount++;
        }
    }

    /// <summary>Packs that some claim lists.</summary>
    public int PackCount { get; }

    /// <summary>Every pack with its claim numbers, in pack-ID order.</summary>
    public IEnumerable<(ObjectId Pack, ArraySegment<int> Claims)> Groups()
    {
        for (int start = 0, end; start < _order.Length; start = end)
        {
            var pack = _claims[_order[start]].Id;
            for (end = start + 1; end < _order.Length && _claims[_order[end]].Id == pack; end++) { }
            yield return (pack, new ArraySegment<int>(_order, start, end - start));
        }
    }

    /// <summary>The claim numbers of the pack; empty when no claim lists it.</summary>
    public ArraySegment<int> Of(in ObjectId pack)
    {
        int lo = 0, hi = _order.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_claims[_order[mid]].Id.CompareTo(pack) < 0) lo = mid + 1;
            else hi = mid;
        }
        int end = lo;
        while (end < _order.Length && _claims[_order[end]].Id == pack) end++;
        return new ArraySegment<int>(_order, lo, end - lo);
    }

    public bool Contains(in ObjectId pack) => Of(pack).Count > 0;
}
