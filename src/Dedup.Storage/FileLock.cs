using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Dedup.Storage;

/// <summary>
/// An exclusive advisory lock (flock) on an open file, held until the file is closed or its process dies. Taken
/// explicitly: the CLI turns .NET's own flock on every open file off (System.IO.DisableFileLocking, see Dedup.Cli.csproj).
/// </summary>
public static class FileLock
{
    private const int LockEx = 2, LockNb = 4, EWouldBlock = 11;

    /// <summary>False when another open file (in this process or another) holds the lock. Where flock cannot be used
    /// at all (not Linux or macOS, a file system without it) the caller proceeds unlocked, as before the lock existed.</summary>
    public static bool TryLockExclusive(SafeFileHandle file)
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())) return true;
        bool added = false;
        file.DangerousAddRef(ref added);
        try
        {
            if (Flock((int)file.DangerousGetHandle(), LockEx | LockNb) == 0) return true;
            int errno = Marshal.GetLastPInvokeError();
            return errno != EWouldBlock && errno != 35; // 35: EWOULDBLOCK on macOS
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return true;
        }
        finally
        {
            if (added) file.DangerousRelease();
        }
    }

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int Flock(int fd, int operation);
}
