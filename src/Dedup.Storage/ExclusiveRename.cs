using System.Runtime.InteropServices;

namespace Dedup.Storage;

/// <summary>
/// Gives a file a new name only if nothing has that name, atomically. .NET's <c>File.Move(overwrite: false)</c> checks
/// that the destination is absent and then calls rename(), which replaces: two concurrent movers can both succeed,
/// the second replacing the first (seen as a rare failure of the create-only conformance test). This uses
/// renameat2(RENAME_NOREPLACE), or link() + unlink() on file systems without it; only where neither exists (no hard
/// links either) does it fall back to .NET's check-then-move.
/// </summary>
public static class ExclusiveRename
{
    private const int AtFdCwd = -100;
    private const uint RenameNoReplace = 1;
    private const int EEXIST = 17, EINVAL = 22, ENOSYS = 38, EPERM = 1, EXDEV = 18, EMLINK = 31, EOPNOTSUPP = 95;

    /// <summary>Moves <paramref name="from"/> to <paramref name="to"/>; false (and the source left in place) when <paramref name="to"/> exists.</summary>
    public static bool TryMove(string from, string to)
    {
        if (OperatingSystem.IsWindows()) return MoveChecked(from, to);
        if (RenameAt2(AtFdCwd, from, AtFdCwd, to, RenameNoReplace) == 0) return true;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == EEXIST) return false;
        if (errno is not (EINVAL or ENOSYS)) throw Error(errno, to);

        if (Link(from, to) == 0)
        {
            File.Delete(from);
            return true;
        }
        errno = Marshal.GetLastPInvokeError();
        if (errno == EEXIST) return false;
        if (errno is EPERM or EOPNOTSUPP or EXDEV or EMLINK) return MoveChecked(from, to);
        throw Error(errno, to);
    }

    private static bool MoveChecked(string from, string to)
    {
        try
        {
            File.Move(from, to, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(to))
        {
            return false;
        }
    }

    // HResult carries errno, as the runtime's own IOExceptions on Unix do, so callers can tell ENOSPC/EDQUOT apart.
    private static IOException Error(int errno, string to) =>
        new($"Could not move a file to '{to}': {Marshal.GetPInvokeErrorMessage(errno)}", errno);

    [DllImport("libc", SetLastError = true, EntryPoint = "renameat2")]
    private static extern int RenameAt2(int olddirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, int newdirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath, uint flags);

    [DllImport("libc", SetLastError = true, EntryPoint = "link")]
    private static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);
}
