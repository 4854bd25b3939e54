namespace Dedup.Archiver.Platform;

/// <summary>Turns errno values from P/Invoke calls into the exceptions the rest of the code handles.</summary>
internal static class PosixErrors
{
    public const int ENOENT = 2, EACCES = 13, EEXIST = 17, ENOSPC = 28, EPERM = 1;

    public static Exception ToException(int errno, string path) => errno switch
    {
        ENOENT => new FileNotFoundException($"{path}: no such file or directory", path),
        EACCES or EPERM => new UnauthorizedAccessException($"{path}: permission denied"),
        ENOSPC => new IOException($"{path}: no space left on device"),
        _ => new IOException($"{path}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}"),
    };
}
