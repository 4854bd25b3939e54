using System.Text;
using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Benchmarks;

/// <summary>The three data shapes of the notes, deterministic from a seed: incompressible, synthetic logs, source-like text.</summary>
public enum DataKind
{
    Random,
    Text,
    Logs,
}

public static class TestData
{
    private static readonly string[] Words =
    [
        "static", "const", "return", "struct", "unsigned", "int", "char", "void", "if", "else", "for", "while", "buffer",
        "length", "size_t", "offset", "count", "value", "result", "error", "NULL", "sizeof", "define", "include", "typedef",
        "self", "def", "import", "from", "class", "None", "True", "False", "the", "of", "to", "and", "a", "in", "is", "it",
        "that", "for", "this", "with", "data", "file", "path", "name", "index", "key", "list", "dict", "string", "node",
    ];

    private static readonly string[] Levels = ["INFO", "INFO", "INFO", "DEBUG", "DEBUG", "WARN", "ERROR"];
    private static readonly string[] Services = ["api", "auth", "db", "cache", "worker", "scheduler", "gateway"];
    private static readonly string[] Messages =
    [
        "request completed", "cache miss for key", "connection established to", "retrying after timeout",
        "user logged in", "slow query detected", "job finished", "upstream returned status", "queue depth",
    ];

    public static byte[] Generate(DataKind kind, int length, int seed)
    {
        var rng = new Random(seed);
        if (kind == DataKind.Random)
        {
            var b = new byte[length];
            rng.NextBytes(b);
            return b;
        }
        var sb = new StringBuilder(length + 256);
        long t = 1_700_000_000_000;
        while (sb.Length < length)
        {
            if (kind == DataKind.Logs)
            {
                t += rng.Next(0, 2000);
                var ts = DateTimeOffset.FromUnixTimeMilliseconds(t).UtcDateTime;
                sb.Append(ts.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture))
                    .Append(' ').Append(Levels[rng.Next(Levels.Length)])
                    .Append(" [").Append(Services[rng.Next(Services.Length)]).Append("] ")
                    .Append(Messages[rng.Next(Messages.Length)])
                    .Append(" id=").Append(rng.Next().ToString("x8", System.Globalization.CultureInfo.InvariantCulture))
                    .Append(" ip=10.").Append(rng.Next(256)).Append('.').Append(rng.Next(256)).Append('.').Append(rng.Next(256))
                    .Append(" ms=").Append(rng.Next(1, 5000)).Append('\n');
            }
            else
            {
                int indent = rng.Next(0, 4) * 4;
                sb.Append(' ', indent);
                int n = rng.Next(2, 12);
                for (int i = 0; i < n; i++)
                {
                    sb.Append(Words[rng.Next(Words.Length)]);
                    sb.Append(rng.Next(8) switch { 0 => "(", 1 => ", ", 2 => "->", _ => " " });
                }
                sb.Append(rng.Next(3) == 0 ? ");\n" : "\n");
            }
        }
        var bytes = Encoding.ASCII.GetBytes(sb.ToString());
        return bytes.AsSpan(0, length).ToArray();
    }

    public static RepositoryKeys Keys()
    {
        Span<byte> id = stackalloc byte[ObjectId.Size];
        new Random(7).NextBytes(id);
        return RepositoryKeys.Generate(new ObjectId(id));
    }

    public static ObjectId[] RandomIds(int count, int seed)
    {
        var rng = new Random(seed);
        var ids = new ObjectId[count];
        Span<byte> b = stackalloc byte[ObjectId.Size];
        for (int i = 0; i < count; i++)
        {
            rng.NextBytes(b);
            ids[i] = new ObjectId(b);
        }
        return ids;
    }

    /// <summary>Index packs of <paramref name="perPack"/> blobs each (about what 16 MiB packs of 1 MiB chunks hold is 16; small files give far more).</summary>
    public static List<IndexPack> Packs(ObjectId[] blobIds, int perPack, int seed)
    {
        var rng = new Random(seed);
        var packs = new List<IndexPack>(blobIds.Length / perPack + 1);
        var packIds = RandomIds(blobIds.Length / perPack + 1, seed + 1);
        for (int p = 0, i = 0; i < blobIds.Length; p++)
        {
            int n = Math.Min(perPack, blobIds.Length - i);
            var blobs = new IndexBlob[n];
            long offset = 0;
            for (int j = 0; j < n; j++, i++)
            {
                int raw = rng.Next(1, 1 << 20);
                int stored = raw / 2 + 16;
                blobs[j] = new IndexBlob(blobIds[i], offset, stored, raw);
                offset += stored;
            }
            var wrapped = new byte[IndexCodec.WrappedKeySize];
            rng.NextBytes(wrapped);
            packs.Add(new IndexPack(packIds[p], BlobType.Data, wrapped, blobs));
        }
        return packs;
    }
}
