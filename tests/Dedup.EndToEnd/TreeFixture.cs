using System.Security.Cryptography;
using Xunit;

namespace Dedup.EndToEnd;

/// <summary>A small tree with every kind of entry the issue names, and a comparison of two such trees.</summary>
public static class TreeFixture
{
    public static long Build(string root, int seed)
    {
        var rng = new Random(seed);
        Directory.CreateDirectory(root);
        long total = 0;
        void Write(string rel, int size, UnixFileMode mode, DateTime mtime)
        {
            var path = Path.Combine(root, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var data = new byte[size];
            rng.NextBytes(data);
            File.WriteAllBytes(path, data);
            File.SetUnixFileMode(path, mode);
            File.SetLastWriteTimeUtc(path, mtime);
            total += size;
        }
        const UnixFileMode rw = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        const UnixFileMode exec = rw | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        Write("empty.txt", 0, rw, new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        Write("one byte", 1, UnixFileMode.UserRead | UnixFileMode.UserWrite, new DateTime(2021, 6, 7, 8, 9, 10, 123, DateTimeKind.Utc));
        Write("small/naïve café ☕.txt", 4096, rw, new DateTime(2019, 12, 31, 23, 59, 59, DateTimeKind.Utc));
        Write("small/script.sh", 300, exec, new DateTime(2022, 2, 2, 2, 2, 2, DateTimeKind.Utc));
        Write("large/random.bin", 3 * 1024 * 1024 + 17, rw, new DateTime(2023, 3, 3, 3, 3, 3, DateTimeKind.Utc));
        for (int i = 0; i < 20; i++) Write($"many/file {i:00}.dat", rng.Next(1, 20_000), rw, new DateTime(2024, 1, 1, 0, 0, i, DateTimeKind.Utc));
        Directory.CreateDirectory(Path.Combine(root, "empty dir"));
        File.CreateSymbolicLink(Path.Combine(root, "link to script"), "small/script.sh");
        File.CreateSymbolicLink(Path.Combine(root, "dangling"), "does/not/exist");
        return total;
    }

    /// <summary>Asserts both trees hold the same names, types, contents, modes, mtimes and link targets.</summary>
    public static void AssertSame(string expected, string actual)
    {
        var left = Entries(expected);
        var right = Entries(actual);
        Assert.Equal(left.Keys.Order(StringComparer.Ordinal), right.Keys.Order(StringComparer.Ordinal));
        foreach (var (rel, e) in left)
        {
            var a = right[rel];
            Assert.True(e.Kind == a.Kind, $"{rel}: {e.Kind} vs {a.Kind}");
            Assert.True(e.Target == a.Target, $"{rel}: link {e.Target} vs {a.Target}");
            if (e.Kind == "link") continue;
            Assert.True(e.Mode == a.Mode, $"{rel}: mode {e.Mode} vs {a.Mode}");
            Assert.True(e.MTime == a.MTime, $"{rel}: mtime {e.MTime:O} vs {a.MTime:O}");
            Assert.True(e.Hash == a.Hash, $"{rel}: content differs");
        }
    }

    private sealed record Entry(string Kind, UnixFileMode Mode, DateTime MTime, string? Target, string? Hash);

    private static Dictionary<string, Entry> Entries(string root)
    {
        var result = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var info in new DirectoryInfo(root).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var rel = Path.GetRelativePath(root, info.FullName);
            if (info.LinkTarget is { } target) result[rel] = new Entry("link", 0, default, target, null);
            else if (info is DirectoryInfo d) result[rel] = new Entry("dir", d.UnixFileMode, d.LastWriteTimeUtc, null, null);
            else result[rel] = new Entry("file", info.UnixFileMode, info.LastWriteTimeUtc, null,
                Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(info.FullName))));
        }
        return result;
    }
}
