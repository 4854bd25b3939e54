using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Dedup.TestKit;

/// <summary>The kernel's view of mounts (/proc/self/mountinfo), and cleanup of FUSE mounts that a failing test left.</summary>
public static class MountTable
{
    /// <summary>The file system type of the mount at <paramref name="mountPoint"/> ("fuse.dedup"), or null if none.</summary>
    public static string? TypeAt(string mountPoint)
    {
        var full = Path.GetFullPath(mountPoint).TrimEnd('/');
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
            var fields = line.Split(' ');
            int dash = Array.IndexOf(fields, "-");
            if (fields.Length < 5 || dash < 0 || dash + 1 >= fields.Length) continue;
            if (Unescape(fields[4]) == full) return fields[dash + 1];
        }
        return null;
    }

    public static bool IsMounted(string mountPoint) => TypeAt(mountPoint) is not null;

    /// <summary>mountinfo writes space, tab, newline and backslash as octal escapes (\040).</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\')) return field;
        var sb = new StringBuilder(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            // Only ASCII characters are escaped, so each escape is one char.
            if (field[i] == '\\' && i + 3 < field.Length)
            {
                sb.Append((char)Convert.ToByte(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(field[i]);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Waits until nothing is mounted at <paramref name="mountPoint"/>, woken by the kernel: poll() on
    /// /proc/self/mountinfo reports POLLPRI whenever the mount table changes. <paramref name="bound"/> only turns a
    /// mount that never goes into a clear failure.
    /// </summary>
    public static void WaitUntilUnmounted(string mountPoint, TimeSpan bound)
    {
        using var table = File.OpenHandle("/proc/self/mountinfo");
        var clock = Stopwatch.StartNew();
        // Opened before the first check, so a change after the check wakes the poll below.
        while (IsMounted(mountPoint))
        {
            var left = bound - clock.Elapsed;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"{mountPoint} was still mounted after {bound}");
            var fd = new PollFd { Fd = (int)table.DangerousGetHandle(), Events = PollPri };
            if (Poll(ref fd, 1, (int)Math.Ceiling(left.TotalMilliseconds)) < 0 && Marshal.GetLastPInvokeError() != EINTR)
                throw new IOException($"poll on /proc/self/mountinfo failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    private const short PollPri = 2;
    private const int EINTR = 4;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int Poll(ref PollFd fds, nuint count, int timeoutMs);

    /// <summary>
    /// Last resort for a test's finally block: a lazy unmount (fusermount3 -uz) of whatever is still mounted there,
    /// so that a failed test never leaves a mount behind. Does nothing when nothing is mounted.
    /// </summary>
    public static void ForceUnmount(string mountPoint)
    {
        if (!IsMounted(mountPoint)) return;
        Tool.Run("fusermount3", "-u", "-z", "--", mountPoint);
    }
}

public sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

/// <summary>Runs a system tool (ls, stat, cp, diff) as a user would, with the C locale so that its output is stable.</summary>
public static class Tool
{
    public static ToolResult Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C.UTF-8";
        psi.Environment["TZ"] = "UTC";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 5 minutes");
        }
        return new ToolResult(p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>Runs and requires exit code 0.</summary>
    public static string Ok(string file, params string[] args)
    {
        var r = Run(file, args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {r}");
        return r.Stdout;
    }
}
