using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Dedup.Fuse.Native;

/// <summary>
/// libfuse's messages ("fuse: bad mount point ...") are caught while this thread mounts, so that the exception says
/// why in one line. Messages outside a capture (rare: worker threads writing to a dead device) go to stderr, as libfuse
/// would print them itself.
/// </summary>
internal static unsafe class NativeLog
{
    private const int Debug = 7;
    [ThreadStatic] private static StringBuilder? t_capture;
    private static int s_installed;

    public static void Install()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 0) LibFuse.SetLogFunction(&Log);
    }

    public static Scope Capture()
    {
        t_capture = new StringBuilder();
        return new Scope();
    }

    public readonly struct Scope : IDisposable
    {
        /// <summary>What libfuse said on this thread since the capture began, or <paramref name="fallback"/>.</summary>
        public string Text(string fallback) => t_capture is { Length: > 0 } c ? c.ToString().Trim() : fallback;

        public void Dispose() => t_capture = null;
    }

    [UnmanagedCallersOnly]
    private static void Log(int level, byte* format, nint args)
    {
        try
        {
            const int size = 1024;
            byte* buffer = stackalloc byte[size];
            int n = LibC.VsnPrintf(buffer, size, format, args);
            if (n <= 0) return;
            var text = Encoding.UTF8.GetString(buffer, Math.Min(n, size - 1)).Trim();
            if (t_capture is { } capture) capture.Append(text).Append(' ');
            else if (level < Debug) Console.Error.WriteLine(text);
        }
        catch
        {
            // Nothing may unwind into libfuse; a lost log line is the lesser harm.
        }
    }
}
