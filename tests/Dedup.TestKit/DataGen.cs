using System.Security.Cryptography;
using System.Text;

namespace Dedup.TestKit;

/// <summary>
/// Deterministic test data: the same seed always gives the same bytes and the same tree, so a failure
/// reproduces from the seed in its message.
/// </summary>
public static class DataGen
{
    /// <summary>Incompressible bytes.</summary>
    public static byte[] RandomBytes(int seed, int length)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static readonly string[] Words =
        ["backup", "restore", "chunk", "pack", "index", "snapshot", "tree", "blob", "error", "ok", "warn", "user", "host", "disk", "cache"];

    /// <summary>Log-like lines (timestamps, a few words, numbers): compresses well, as real text does.</summary>
    public static byte[] CompressibleText(int seed, int length)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder(length + 128);
        var t = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        while (sb.Length < length)
        {
            t = t.AddMilliseconds(rng.Next(1, 5000));
            sb.Append(t.ToString("O")).Append(" [").Append(Words[rng.Next(Words.Length)]).Append("] ");
            for (int i = rng.Next(2, 8); i > 0; i--) sb.Append(Words[rng.Next(Words.Length)]).Append(' ');
            sb.Append("id=").Append(rng.Next(100000)).Append('\n');
        }
        return Encoding.UTF8.GetBytes(sb.ToString())[..length];
    }

    /// <summary>Half random, half text, in blocks: a blob mix that exercises both the LZ4 and the raw path.</summary>
    public static byte[] Mixed(int seed, int length)
    {
        var rng = new Random(seed);
        var b = new byte[length];
        for (int pos = 0; pos < length;)
        {
            int n = Math.Min(length - pos, rng.Next(1, 64 * 1024));
            var part = rng.Next(2) == 0 ? RandomBytes(rng.Next(), n) : CompressibleText(rng.Next(), n);
            part.CopyTo(b, pos);
            pos += n;
        }
        return b;
    }

    private static readonly string[] Names =
        ["a", "notes.txt", "with space.dat", "ünïcödé-名前.bin", "Ωmega", "data", ".hidden", "long name with  two spaces", "x-y_z", "émoji😀.txt"];

    /// <summary>
    /// Writes a mixed tree under <paramref name="root"/> of about <paramref name="totalBytes"/> of content: nested
    /// directories, small, empty and large files (random and text), symlinks (to files, to directories, dangling),
    /// empty directories, and names with spaces and non-ASCII. Returns the files written, relative to the root.
    /// </summary>
    public static List<string> FileTree(string root, int seed, long totalBytes)
    {
        var rng = new Random(seed);
        var files = new List<string>();
        var dirs = new List<string> { "" };
        Directory.CreateDirectory(root);
        for (int i = 0; i < 4 + rng.Next(4); i++)
        {
            var parent = dirs[rng.Next(dirs.Count)];
            var d = Path.Combine(parent, $"{Names[rng.Next(Names.Length)]}-d{i}");
            Directory.CreateDirectory(Path.Combine(root, d));
            dirs.Add(d);
        }
        Directory.CreateDirectory(Path.Combine(root, "empty dir"));
        Directory.CreateDirectory(Path.Combine(root, dirs[^1], "nested empty"));
        long written = 0;
        int n = 0;
        while (written < totalBytes || n < 6)
        {
            var dir = dirs[rng.Next(dirs.Count)];
            var rel = Path.Combine(dir, $"{Names[rng.Next(Names.Length)]}-{n}");
            int size = (n % 7) switch
            {
                0 => 0,                                                  // empty
                1 => (int)Math.Min(totalBytes / 3 + 1, 8 * 1024 * 1024), // large
                _ => rng.Next(1, 48 * 1024),                            // small
            };
            var bytes = n % 2 == 0 ? RandomBytes(rng.Next(), size) : CompressibleText(rng.Next(), size);
            File.WriteAllBytes(Path.Combine(root, rel), bytes);
            files.Add(rel);
            written += size;
            n++;
        }
        File.CreateSymbolicLink(Path.Combine(root, "link to file"), files[1]);
        File.CreateSymbolicLink(Path.Combine(root, "link-to-dir"), dirs[1]);
        File.CreateSymbolicLink(Path.Combine(root, "dangling ✗"), "does/not/exist");
        return files;
    }

    /// <summary>
    /// One line per entry under <paramref name="root"/> (sorted): relative path, kind, and content hash or link target.
    /// Two trees with the same digest hold the same names, types, contents and links.
    /// </summary>
    public static List<string> Digest(string root)
    {
        var lines = new List<string>();
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var rel = Path.GetRelativePath(root, path);
            var info = new FileInfo(path);
            if (info.LinkTarget is { } target) lines.Add($"{rel} -> {target}");
            else if (Directory.Exists(path)) lines.Add($"{rel}/");
            else lines.Add($"{rel} {info.Length} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))}");
        }
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>
    /// Every entry below and including <paramref name="root"/>, symlinks not followed, with type, size, mode, mtime,
    /// inode and content hash: what a run that promises to change nothing (a dry run) must leave exactly as it was.
    /// </summary>
    public static List<string> Listing(string root)
    {
        var lines = new List<string>();
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Append(root))
        {
            var st = Dedup.Archiver.Platform.PosixFile.LStat(path);
            var hash = st.Type == Dedup.Format.NodeType.File ? Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))) : "";
            lines.Add($"{Path.GetRelativePath(root, path)} {st.Type} {st.Size} {st.Mode:x} {st.MTimeNs} {st.Inode} {hash}");
        }
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }
}
