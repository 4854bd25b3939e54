using System.IO.Compression;
using Dedup.Archiver.Backup;
using Dedup.Crypto;
using Dedup.Repository;
using Dedup.Storage;

namespace Dedup.Fuzz;

/// <summary>
/// A small, fixed repository for the "restore" target: a few files, a directory, a symlink and an empty file,
/// backed up twice. It is generated once (<c>dedup-fuzz make-restore-fixture</c>) and embedded, because a
/// repository made at start-up would have new random keys every run, and the corpus (mutated packs) would stop
/// decrypting. Regenerate it, and reseed the corpus, when the repository format changes.
/// </summary>
public sealed class RestoreFixture
{
    public const string Password = "fuzz";
    private const string ResourceName = "Dedup.Fuzz.Fixtures.restore-repo.zip";

    private static readonly Lazy<RestoreFixture> Embedded = new(() =>
    {
        using var zip = typeof(RestoreFixture).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"resource {ResourceName} is missing: run 'dedup-fuzz make-restore-fixture'");
        return FromZip(zip);
    });

    private RestoreFixture(IReadOnlyList<(string Name, byte[] Bytes)> objects) => Objects = objects;

    public static RestoreFixture Shared => Embedded.Value;

    /// <summary>Every stored object, in name order.</summary>
    public IReadOnlyList<(string Name, byte[] Bytes)> Objects { get; }

    /// <summary>What the target mutates: packs, index files and snapshots (the config and key files have targets of their own).</summary>
    public IReadOnlyList<(string Name, byte[] Bytes)> Mutable =>
        Objects.Where(o => o.Name.StartsWith(Format.Layout.DataPrefix, StringComparison.Ordinal)
                           || o.Name.StartsWith(Format.Layout.IndexPrefix, StringComparison.Ordinal)
                           || o.Name.StartsWith(Format.Layout.SnapshotsPrefix, StringComparison.Ordinal)).ToArray();

    private static RestoreFixture FromZip(Stream stream)
    {
        using var zip = new ZipArchive(stream, ZipArchiveMode.Read);
        var objects = new List<(string, byte[])>();
        foreach (var e in zip.Entries.OrderBy(e => e.FullName, StringComparer.Ordinal))
        {
            using var s = e.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            objects.Add((e.FullName, ms.ToArray()));
        }
        return new RestoreFixture(objects);
    }

    /// <summary>Backs up a small tree twice into a fresh repository and writes every object into a zip.</summary>
    public static async Task WriteAsync(string zipPath)
    {
        var root = Directory.CreateTempSubdirectory("dedup-fuzz-fixture").FullName;
        try
        {
            var tree = Path.Combine(root, "tree");
            Directory.CreateDirectory(Path.Combine(tree, "sub dir"));
            Directory.CreateDirectory(Path.Combine(tree, "empty"));
            var rng = new Random(7);
            var random = new byte[40_000];
            rng.NextBytes(random);
            File.WriteAllBytes(Path.Combine(tree, "random.bin"), random);
            File.WriteAllText(Path.Combine(tree, "sub dir", "notes ü.txt"), string.Concat(Enumerable.Repeat("a line of text\n", 2000)));
            File.WriteAllBytes(Path.Combine(tree, "empty.txt"), []);
            File.CreateSymbolicLink(Path.Combine(tree, "link"), "sub dir/notes ü.txt");

            var storage = new MemoryStorage();
            var options = new InitOptions
            {
                ChunkerMin = 4 * 1024, ChunkerAverage = 8 * 1024, ChunkerMax = 16 * 1024, PackSize = RepositoryConfig.MinPackSize,
                Kdf = FuzzKeys.Kdf, Host = "fuzzhost", Username = "fuzz",
            };
            await Repository.Repository.InitAsync(storage, System.Text.Encoding.UTF8.GetBytes(Password), options);
            for (int run = 0; run < 2; run++)
            {
                await using var repo = await Repository.Repository.OpenAsync(storage, System.Text.Encoding.UTF8.GetBytes(Password));
                await repo.LoadIndexAsync();
                await Archiver.Backup.Archiver.RunAsync(repo, new BackupOptions
                {
                    Paths = [tree], Host = "fuzzhost", Username = "fuzz", Workers = 1, CacheDirectory = Path.Combine(root, "cache"),
                }, new BackupProgress());
                File.AppendAllText(Path.Combine(tree, "sub dir", "notes ü.txt"), "changed\n");
            }

            await using var file = File.Create(zipPath);
            using var zip = new ZipArchive(file, ZipArchiveMode.Create);
            await foreach (var o in storage.ListAsync(""))
            {
                await using var s = await storage.OpenReadAsync(o.Name);
                await using var entry = zip.CreateEntry(o.Name, CompressionLevel.NoCompression).Open();
                await s.CopyToAsync(entry);
            }
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

}
