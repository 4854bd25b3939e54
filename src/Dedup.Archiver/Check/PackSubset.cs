using System.Globalization;
using Dedup.Archiver.Backup;
using Dedup.Format;

namespace Dedup.Archiver.Check;

/// <summary>
/// Which packs check --read-data-subset reads, with restic's semantics: "n/t" the n-th of t fixed groups (by pack ID,
/// so the runs 1/t … t/t read every pack exactly once, whatever was added between them), "x%" a random fraction of
/// the packs, or a size ("500M") a random set of packs of about that many bytes. A daily tenth costs a tenth.
/// </summary>
public abstract record PackSubset
{
    public const string Forms = "n/t (the n-th of t groups, e.g. 1/7), x% (a random share, e.g. 5%) or a size (random packs up to about it, e.g. 500M)";

    private PackSubset() { }

    /// <summary>Group <see cref="N"/> of <see cref="T"/>: the packs whose ID, taken as a number, is N-1 modulo T.</summary>
    public sealed record Group(int N, int T) : PackSubset
    {
        public override string ToString() => $"group {N}/{T}";
    }

    public sealed record Fraction(double Percent) : PackSubset
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Percent}% of the packs, chosen at random");
    }

    public sealed record Size(long Bytes) : PackSubset
    {
        public override string ToString() => $"about {Bytes} bytes of packs, chosen at random";
    }

    /// <summary>Parses one of the <see cref="Forms"/>; throws <see cref="FormatException"/> with one line naming the text otherwise.</summary>
    public static PackSubset Parse(string text)
    {
        var t = text.Trim();
        var slash = t.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            if (int.TryParse(t.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                && int.TryParse(t.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var total)
                && n >= 1 && total >= 1 && n <= total)
                return new Group(n, total);
            throw new FormatException($"'{text}' is not a subset: in n/t, t must be at least 1 and n between 1 and t (e.g. 3/7).");
        }
        if (t.EndsWith('%'))
        {
            if (double.TryParse(t.AsSpan(0, t.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var p) && p > 0 && p <= 100)
                return new Fraction(p);
            throw new FormatException($"'{text}' is not a subset: a percentage must be above 0 and at most 100 (e.g. 10%).");
        }
        try
        {
            var bytes = ByteSize.Parse(t);
            if (bytes > 0) return new Size(bytes);
        }
        catch (ArgumentException)
        {
            // Reported below with all the forms.
        }
        throw new FormatException($"'{text}' is not a subset: use {Forms}.");
    }

    /// <summary>Whether the pack belongs to group <paramref name="n"/> of <paramref name="t"/> (1-based).</summary>
    public static bool InGroup(ObjectId pack, int n, int t) => pack.Prefix64 % (ulong)t == (ulong)(n - 1);

    /// <summary>The packs of <paramref name="stored"/> (ID and size) this subset reads; <paramref name="random"/> drives the random forms.</summary>
    public IReadOnlyList<KeyValuePair<ObjectId, long>> Select(IReadOnlyDictionary<ObjectId, long> stored, Random random)
    {
        switch (this)
        {
            case Group g:
                return stored.Where(kv => InGroup(kv.Key, g.N, g.T)).ToList();
            case Fraction f:
            {
                // Rounded up, so that a small repository still gets at least one pack read.
                var count = (int)Math.Min(stored.Count, Math.Ceiling(stored.Count * f.Percent / 100));
                return Shuffled(stored, random).Take(count).ToList();
            }
            case Size s:
            {
                var chosen = new List<KeyValuePair<ObjectId, long>>();
                long total = 0;
                // As restic: packs in random order until the size is reached (the last one may go past it).
                foreach (var kv in Shuffled(stored, random))
                {
                    if (total >= s.Bytes) break;
                    chosen.Add(kv);
                    total += kv.Value;
                }
                return chosen;
            }
            default:
                throw new InvalidOperationException("unknown subset");
        }
    }

    private static KeyValuePair<ObjectId, long>[] Shuffled(IReadOnlyDictionary<ObjectId, long> stored, Random random)
    {
        // Sorted first, so that a seeded random picks the same packs whatever order the listing came in.
        var all = stored.OrderBy(kv => kv.Key).ToArray();
        random.Shuffle(all);
        return all;
    }
}
