using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Dedup.Fuse;
using Dedup.Fuse.Native;
using Dedup.TestKit;
using Xunit;

namespace Dedup.Tests.Fuse;

/// <summary>A <see cref="MemoryFileSystem"/> mounted for one test; unmounted on Dispose even when the test failed.</summary>
internal sealed class TestMount : IDisposable
{
    private readonly TempDir _dir = new("dedup-fuse");

    public TestMount(MemoryFileSystem fs, FuseMountOptions? options = null)
    {
        Fs = fs;
        Path = _dir.CreateDirectory("mnt");
        try
        {
            Mount = FuseMount.Mount(Path, fs, options ?? new FuseMountOptions { OnError = (what, e) => Errors.Enqueue((what, e)) });
        }
        catch
        {
            _dir.Dispose();
            throw;
        }
    }

    public MemoryFileSystem Fs { get; }
    public string Path { get; }
    public FuseMount Mount { get; }
    public ConcurrentQueue<(string What, Exception Error)> Errors { get; } = new();
    public string Combine(string relative) => System.IO.Path.Join(Path, relative);
    public TempDir Scratch => _dir;

    public void Dispose()
    {
        try
        {
            Mount.Dispose();
        }
        finally
        {
            MountTable.ForceUnmount(Path);
            _dir.Dispose();
        }
    }
}

/// <summary>
/// The libfuse binding, mounted for real (these tests need /dev/fuse and libfuse3, and fail without them): what ls,
/// stat, cat, cp and diff see, reads at offsets, big directories, errors, concurrency and every way a mount ends.
/// </summary>
public sealed class FuseBindingTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static MemoryFileSystem SampleTree(int seed = 1)
    {
        var rng = new Random(seed);
        var fs = new MemoryFileSystem();
        fs.AddFile("/hello.txt", "hello world"u8.ToArray());
        fs.AddFile("/empty", []);
        fs.AddDirectory("/dir");
        fs.AddDirectory("/dir/sub dir", 0x1C0);
        var big = new byte[3 * 1024 * 1024 + 17];
        rng.NextBytes(big);
        fs.AddFile("/dir/big.bin", big, 0x180);
        fs.AddFile("/dir/sub dir/naïve café ☕.txt", "unicode"u8.ToArray(), 0x1ED);
        fs.AddSymlink("/link", "dir/big.bin");
        fs.AddSymlink("/dangling", "does/not/exist");
        return fs;
    }

    [Fact]
    public void NativeStructs_HaveTheSizesOfLibfuse314OnX64()
    {
        // Checked with offsetof() against /usr/include/fuse3 3.14 and glibc on x86-64.
        Assert.Equal(336, Unsafe.SizeOf<FuseOperations>());
        Assert.Equal(144, Unsafe.SizeOf<Stat>());
        Assert.Equal(112, Unsafe.SizeOf<StatVfs>());
        Assert.Equal(40, Unsafe.SizeOf<FuseFileInfo>());
        Assert.Equal(128, Unsafe.SizeOf<FuseConfig>());
        Assert.Equal(40, Unsafe.SizeOf<FuseContext>());
        Assert.Equal(24, Unsafe.SizeOf<FuseArgs>());
    }

    [Fact]
    public async Task Mount_AppearsInTheMountTable_AndDisposeLeavesAnEmptyDirectory()
    {
        var m = new TestMount(SampleTree());
        try
        {
            await m.Mount.Initialized.WaitAsync(Bound);
            Assert.Equal("fuse.dedup", MountTable.TypeAt(m.Path));
            Assert.Contains("hello.txt", Directory.GetFileSystemEntries(m.Path).Select(Path.GetFileName));
            m.Mount.Dispose();
            Assert.False(MountTable.IsMounted(m.Path), "still mounted after Dispose");
            Assert.Empty(Directory.GetFileSystemEntries(m.Path));
            Assert.Equal(0, await m.Mount.Completion.WaitAsync(Bound));
        }
        finally
        {
            m.Dispose();
        }
    }

    [Fact]
    public void LsAndStat_ShowTypesModesOwnersSizesAndTimes()
    {
        using var m = new TestMount(SampleTree());
        var ls = Tool.Ok("ls", "-ln", "--time-style=+%Y-%m-%dT%H:%M:%S", m.Path).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries))).ToArray();
        Assert.Contains("-rw-r--r-- 1 1000 1000 11 2024-05-06T07:08:09 hello.txt", ls);
        Assert.Contains("-rw-r--r-- 1 1000 1000 0 2024-05-06T07:08:09 empty", ls);
        Assert.Contains("drwxr-xr-x 1 1000 1000 0 2024-05-06T07:08:09 dir", ls);
        Assert.Contains(ls, l => l.StartsWith("lrwxrwxrwx 1 0 0 11 ", StringComparison.Ordinal) && l.EndsWith(" link -> dir/big.bin", StringComparison.Ordinal));

        var stat = Tool.Ok("stat", "-c", "%F|%a|%s|%u|%g|%y|%b", m.Combine("dir/big.bin")).Trim();
        Assert.Equal($"regular file|600|{3 * 1024 * 1024 + 17}|1000|1000|2024-05-06 07:08:09.123456789 +0000|{(3 * 1024 * 1024 + 17 + 511) / 512}", stat);
        Assert.Equal("directory|700", Tool.Ok("stat", "-c", "%F|%a", m.Combine("dir/sub dir")).Trim());
        // statfs: 4 KiB blocks covering the bytes the file system holds.
        var df = Tool.Ok("stat", "-f", "-c", "%S %b", m.Path).Trim().Split(' ').Select(long.Parse).ToArray();
        Assert.Equal(4096, df[0]);
        Assert.Equal((3 * 1024 * 1024 + 17 + 11 + 7) / 4096 + 1, df[1]);
    }

    [Fact]
    public void SpecialFiles_ShowAsWhatTheyAre()
    {
        var fs = new MemoryFileSystem();
        fs.AddSpecial("/fifo", FileKind.Fifo);
        fs.AddSpecial("/null", FileKind.CharDevice, (1UL << 8) | 3);
        fs.AddSpecial("/socket", FileKind.Socket);
        using var m = new TestMount(fs);
        Assert.Equal("fifo", Tool.Ok("stat", "-c", "%F", m.Combine("fifo")).Trim());
        Assert.Equal("character special file|1|3", Tool.Ok("stat", "-c", "%F|%Hr|%Lr", m.Combine("null")).Trim());
        Assert.Equal("socket", Tool.Ok("stat", "-c", "%F", m.Combine("socket")).Trim());
    }

    [Fact]
    public void Cat_ReturnsTheContent_AndReadsAtOffsetsReturnTheRightBytes()
    {
        var fs = SampleTree();
        var offsets = new ConcurrentBag<long>();
        fs.BeforeRead = (path, offset, _) =>
        {
            offsets.Add(offset);
            return Task.CompletedTask;
        };
        var expected = fs.Content("/dir/big.bin");
        using var m = new TestMount(fs);
        Assert.Equal("hello world", Tool.Ok("cat", m.Combine("hello.txt")));
        Assert.Equal("", Tool.Ok("cat", m.Combine("empty")));

        // Random reads first, before anything of the file is in the kernel's page cache, so they reach the file system.
        var rng = new Random(7);
        using (var stream = new FileStream(m.Combine("dir/big.bin"), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess))
        {
            for (int i = 0; i < 100; i++)
            {
                long offset = rng.NextInt64(expected.Length + 10);
                var buffer = new byte[rng.Next(1, 300_000)];
                stream.Position = offset;
                int n = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                int want = (int)Math.Clamp(expected.Length - offset, 0, buffer.Length);
                Assert.Equal(want, n);
                Assert.True(expected.AsSpan((int)Math.Min(offset, expected.Length), want).SequenceEqual(buffer.AsSpan(0, n)), $"bytes differ at offset {offset}");
            }
        }
        Assert.Contains(offsets, o => o > 1024 * 1024);
        Assert.Equal(SHA256.HashData(expected), SHA256.HashData(File.ReadAllBytes(m.Combine("dir/big.bin"))));
        Assert.Equal("unicode", File.ReadAllText(m.Combine("dir/sub dir/naïve café ☕.txt")));
    }

    [Fact]
    public void Symlinks_GiveTheirTargets_AndResolveInsideTheMount()
    {
        using var m = new TestMount(SampleTree());
        Assert.Equal("dir/big.bin", Tool.Ok("readlink", m.Combine("link")).Trim());
        Assert.Equal("does/not/exist", new FileInfo(m.Combine("dangling")).LinkTarget);
        Assert.Equal(SHA256.HashData(m.Fs.Content("/dir/big.bin")), SHA256.HashData(File.ReadAllBytes(m.Combine("link"))));
        Assert.Throws<FileNotFoundException>(() => File.ReadAllBytes(m.Combine("dangling")));
    }

    [Fact]
    public void LargeDirectory_ListsEveryEntry()
    {
        const int count = 5000;
        var fs = new MemoryFileSystem();
        fs.AddDirectory("/big");
        for (int i = 0; i < count; i++) fs.AddFile($"/big/entry {i:D5} with a longish name to fill buffers.txt", [(byte)i]);
        using var m = new TestMount(fs);
        var names = Directory.GetFileSystemEntries(m.Combine("big")).Select(Path.GetFileName).ToHashSet();
        Assert.Equal(count, names.Count);
        Assert.Contains("entry 04999 with a longish name to fill buffers.txt", names);
        // ls -f lists in directory order with . and ..; ls -l goes through readdirplus and stat.
        Assert.Equal(count + 2, Tool.Ok("ls", "-f", m.Combine("big")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var longLines = Tool.Ok("ls", "-ln", m.Combine("big")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(count + 1, longLines.Length); // "total N" first
        Assert.All(longLines.Skip(1), l => Assert.StartsWith("-rw-r--r-- 1 1000 1000 1 ", l));
    }

    [Fact]
    public void MissingPaths_AreENOENT()
    {
        using var m = new TestMount(SampleTree());
        Assert.False(File.Exists(m.Combine("nope")));
        Assert.False(Directory.Exists(m.Combine("dir/nope")));
        var r = Tool.Run("stat", m.Combine("dir/nope"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("No such file or directory", r.Stderr);
        Assert.Throws<FileNotFoundException>(() => File.ReadAllBytes(m.Combine("nope.txt")));
        Assert.Empty(m.Errors);
    }

    [Fact]
    public void Writes_AreRefused_AsReadOnly()
    {
        using var m = new TestMount(SampleTree());
        foreach (var (tool, args) in new[] { ("touch", new[] { m.Combine("new") }), ("mkdir", [m.Combine("newdir")]), ("rm", [m.Combine("hello.txt")]),
                     ("sh", ["-c", $"echo x >> '{m.Combine("hello.txt")}'"]), ("chmod", ["777", m.Combine("hello.txt")]) })
        {
            var r = Tool.Run(tool, args);
            Assert.True(r.ExitCode != 0, $"{tool} succeeded on a read-only mount");
            Assert.Contains("Read-only file system", r.Stderr);
        }
        Assert.Equal("hello world", File.ReadAllText(m.Combine("hello.txt")));
    }

    [Fact]
    public void FailingReads_AreEIO_AndReported_WhileChosenErrnosPassThrough()
    {
        var fs = SampleTree();
        fs.AddFile("/broken", new byte[100]);
        fs.AddFile("/secret", new byte[100]);
        fs.BeforeRead = (path, _, _) => path switch
        {
            "/broken" => throw new InvalidDataException("blob 1234 is damaged"),
            "/secret" => throw new FuseErrorException(Errno.EACCES, "no"),
            _ => Task.CompletedTask,
        };
        using var m = new TestMount(fs);
        var broken = Tool.Run("cat", m.Combine("broken"));
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("Input/output error", broken.Stderr);
        var secret = Tool.Run("cat", m.Combine("secret"));
        Assert.Contains("Permission denied", secret.Stderr);
        // The kernel may retry a failed read page by page: each attempt is reported, none for the EACCES.
        Assert.NotEmpty(m.Errors);
        Assert.All(m.Errors, e => Assert.Equal(("read /broken", typeof(InvalidDataException)), (e.What, e.Error.GetType())));
        // The mount still serves everything else.
        Assert.Equal("hello world", File.ReadAllText(m.Combine("hello.txt")));
    }

    [Fact]
    public void Reads_AreServedByOverlappingThreads()
    {
        var fs = SampleTree();
        fs.AddFile("/a", [1]);
        fs.AddFile("/b", [2]);
        var arrivedA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrivedB = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Each read waits until the other one has arrived: they complete only if two FUSE threads serve them at once.
        fs.BeforeRead = async (path, _, ct) =>
        {
            var (mine, other) = path == "/a" ? (arrivedA, arrivedB) : (arrivedB, arrivedA);
            mine.TrySetResult();
            await other.Task.WaitAsync(Bound, ct);
        };
        using var m = new TestMount(fs);
        var results = new byte[2][];
        var threads = new[] { "a", "b" }.Select((name, i) => new Thread(() => results[i] = File.ReadAllBytes(m.Combine(name)))).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.Empty(m.Errors);
        Assert.Equal([1], results[0]);
        Assert.Equal([2], results[1]);
    }

    [Fact]
    public async Task TwoMounts_InOneProcess_ServeTheirOwnFiles()
    {
        var one = new MemoryFileSystem();
        one.AddFile("/which", "one"u8.ToArray());
        var two = new MemoryFileSystem();
        two.AddFile("/which", "two"u8.ToArray());
        using var a = new TestMount(one);
        using var b = new TestMount(two);
        await Task.WhenAll(a.Mount.Initialized, b.Mount.Initialized).WaitAsync(Bound);
        Assert.Equal("one", File.ReadAllText(a.Combine("which")));
        Assert.Equal("two", File.ReadAllText(b.Combine("which")));
    }

    [Fact]
    public void CpA_CopiesEverything_AndDiffFindsNoDifference()
    {
        using var m = new TestMount(SampleTree());
        var copy = m.Scratch.Combine("copy");
        var cp = Tool.Run("cp", "-a", m.Path, copy);
        Assert.True(cp.ExitCode == 0 && cp.Stderr.Length == 0, $"cp -a: {cp}");
        var diff = Tool.Run("diff", "-r", "--no-dereference", m.Path, copy);
        Assert.True(diff.ExitCode == 0, $"diff -r: {diff}");
        Assert.Equal("dir/big.bin", new FileInfo(Path.Join(copy, "link")).LinkTarget);
        Assert.Equal(new DateTime(2024, 5, 6, 7, 8, 9, 123, DateTimeKind.Utc).AddTicks(4567), File.GetLastWriteTimeUtc(Path.Join(copy, "hello.txt")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Join(copy, "dir", "big.bin")));
    }

    [Fact]
    public async Task UnmountFromOutside_EndsTheLoop()
    {
        using var m = new TestMount(SampleTree());
        await m.Mount.Initialized.WaitAsync(Bound);
        Tool.Ok("fusermount3", "-u", m.Path);
        Assert.Equal(0, await m.Mount.Completion.WaitAsync(Bound));
        Assert.False(MountTable.IsMounted(m.Path));
        Assert.Equal(UnmountOutcome.AlreadyGone, m.Mount.RequestUnmount());
    }

    [Fact]
    public async Task UnmountWhileAFileIsOpen_Detaches_AndEndsWhenItIsClosed()
    {
        using var m = new TestMount(SampleTree());
        var stream = File.OpenRead(m.Combine("hello.txt"));
        try
        {
            Assert.Equal(UnmountOutcome.DetachedWhileBusy, m.Mount.RequestUnmount());
            Assert.False(MountTable.IsMounted(m.Path), "a detached mount left the mount table");
            Assert.False(m.Mount.Completion.IsCompleted, "the loop ended while a file was still open");
            // The open file still reads.
            var buffer = new byte[11];
            Assert.Equal(11, stream.ReadAtLeast(buffer, 11));
            Assert.Equal("hello world"u8.ToArray(), buffer);
            Assert.Equal(1, m.Fs.OpenFiles);
        }
        finally
        {
            stream.Dispose();
        }
        Assert.Equal(0, await m.Mount.Completion.WaitAsync(Bound));
        // Every handle is disposed, whether the kernel's release arrived before the connection ended or not.
        m.Mount.Dispose();
        Assert.Equal(0, m.Fs.OpenFiles);
    }

    [Fact]
    public void Mount_OnAMissingDirectory_SaysSo()
    {
        using var dir = new TempDir("dedup-fuse");
        var e = Assert.Throws<DirectoryNotFoundException>(() => FuseMount.Mount(dir.Combine("absent"), new MemoryFileSystem()));
        Assert.Contains("create it first", e.Message);
    }
}
