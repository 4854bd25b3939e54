using System.Security.Cryptography;

namespace Dedup.Fuzz;

/// <summary>Writes the seed corpus: each target's valid seeds plus deterministic mutations of them.</summary>
public static class Corpus
{
    /// <summary>Writes files named by their content hash (so re-running adds nothing twice); returns the count per target.</summary>
    public static IEnumerable<(string Target, int Files)> WriteSeeds(string corpusDir)
    {
        foreach (var target in FuzzTargets.All)
        {
            var dir = Path.Combine(corpusDir, target.Name);
            Directory.CreateDirectory(dir);
            int n = 0;
            foreach (var seed in target.Seeds())
            {
                Write(dir, "seed", seed);
                n++;
                foreach (var m in Mutations(seed, n))
                {
                    Write(dir, "mut", m);
                    n++;
                }
            }
            yield return (target.Name, Directory.GetFiles(dir).Length);
        }
    }

    private static void Write(string dir, string kind, byte[] bytes)
    {
        var path = Path.Combine(dir, $"{kind}-{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}");
        if (!File.Exists(path)) File.WriteAllBytes(path, bytes);
    }

    /// <summary>A byte flip, a truncation, an extension and a length-field blow-up: the damage check meets in real life.</summary>
    public static IEnumerable<byte[]> Mutations(byte[] seed, int salt)
    {
        if (seed.Length == 0) yield break;
        var rng = new Random(seed.Length * 31 + salt);
        var flipped = (byte[])seed.Clone();
        flipped[rng.Next(seed.Length)] ^= (byte)(1 << rng.Next(8));
        yield return flipped;
        yield return seed[..rng.Next(seed.Length)];
        yield return [.. seed, 0x00, 0xFF];
        var big = (byte[])seed.Clone();
        int at = rng.Next(seed.Length);
        for (int i = at; i < Math.Min(seed.Length, at + 5); i++) big[i] = 0xFF;
        yield return big;
    }

    /// <summary>One to eight random edits (bit flips, byte sets, 0xFF runs, deletions, insertions): a cheap stand-in for AFL's havoc stage.</summary>
    public static byte[] RandomMutation(byte[] seed, Random rng)
    {
        var b = new List<byte>(seed);
        for (int n = rng.Next(1, 9); n > 0; n--)
        {
            int at = b.Count == 0 ? 0 : rng.Next(b.Count);
            switch (rng.Next(5))
            {
                case 0 when b.Count > 0: b[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1 when b.Count > 0: b[at] = (byte)rng.Next(256); break;
                case 2 when b.Count > 0: b.RemoveRange(at, Math.Min(b.Count - at, rng.Next(1, 32))); break;
                case 3: b.InsertRange(at, Enumerable.Repeat((byte)rng.Next(256), rng.Next(1, 16))); break;
                default: for (int i = at; i < Math.Min(b.Count, at + rng.Next(1, 9)); i++) b[i] = 0xFF; break;
            }
        }
        return [.. b];
    }
}
