using System.Runtime.InteropServices;

namespace Dedup.Storage;

/// <summary>
/// fsync of a directory, so a rename survives a power cut. .NET refuses to open a directory
/// (File.OpenHandle throws UnauthorizedAccessException on Linux), so this calls libc directly.
/// </summary>
public static class DirectorySync
{
    // O_RDONLY: its value is 0 on Linux and macOS, and a directory may be opened read-only.
    private const int ORdOnly = 0;

    private static bool s_unavailable;

    public static void Flush(string directory)
    {
        if (s_unavailable || OperatingSystem.IsWindows())
            return;
        try
        {
            var fd = Open(directory, ORdOnly);
            if (fd < 0)
                return; // Best effort: the file itself is already durable; only the name might be lost.
            try
            {
                _ = FSync(fd);
            }
            finally
            {
                _ = Close(fd);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int FSync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
