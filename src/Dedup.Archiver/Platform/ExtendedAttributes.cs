using System.Runtime.InteropServices;
using System.Text;
using Dedup.Format;

namespace Dedup.Archiver.Platform;

/// <summary>
/// Extended attributes through llistxattr/lgetxattr/lsetxattr (never following a final symlink). On Linux they also
/// carry POSIX ACLs (system.posix_acl_access, system.posix_acl_default) and SELinux labels. .NET has no API for them.
/// </summary>
public static class ExtendedAttributes
{
    private const int ENODATA = 61, ERANGE = 34, ENOTSUP = 95;

    [DllImport("libc", SetLastError = true, EntryPoint = "llistxattr")]
    private static extern nint LListXattr([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[]? list, nuint size);

    [DllImport("libc", SetLastError = true, EntryPoint = "lgetxattr")]
    private static extern nint LGetXattr([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] name, byte[]? value, nuint size);

    [DllImport("libc", SetLastError = true, EntryPoint = "lsetxattr")]
    private static extern int LSetXattr([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] name, byte[] value, nuint size, int flags);

    [ThreadStatic] private static byte[]? t_list;

    /// <summary>
    /// The attributes of a path, sorted by name as trees store them. Attributes that cannot be stored (a name that is not
    /// UTF-8, or one over the format's limits, which Linux never produces) are left out and named in <paramref name="skipped"/>.
    /// A file system without extended attributes gives none. Throws IOException/UnauthorizedAccessException otherwise.
    /// </summary>
    public static IReadOnlyList<ExtendedAttribute> Read(string path, List<string>? skipped = null)
    {
        var list = t_list ??= new byte[1024];
        nint n;
        while (true)
        {
            n = LListXattr(path, list, (nuint)list.Length);
            if (n >= 0) break;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == ENOTSUP) return [];
            if (errno != ERANGE) throw PosixErrors.ToException(errno, path);
            // The list grew since (or is longer than the buffer): ask for its size and try again.
            nint needed = LListXattr(path, null, 0);
            if (needed < 0) throw PosixErrors.ToException(Marshal.GetLastPInvokeError(), path);
            list = t_list = new byte[Math.Max((int)needed, list.Length * 2)];
        }
        if (n == 0) return [];
        var result = new List<ExtendedAttribute>();
        var strict = new UTF8Encoding(false, true);
        foreach (var range in list.AsSpan(0, (int)n).Split((byte)0))
        {
            var nameBytes = list.AsSpan(0, (int)n)[range];
            if (nameBytes.IsEmpty) continue;
            string name;
            try
            {
                name = strict.GetString(nameBytes);
            }
            catch (DecoderFallbackException)
            {
                skipped?.Add($"an extended attribute whose name is not UTF-8 ({Convert.ToHexString(nameBytes)})");
                continue;
            }
            if (nameBytes.Length > Limits.MaxXattrNameBytes)
            {
                skipped?.Add($"the extended attribute {name}: its name is longer than {Limits.MaxXattrNameBytes} bytes");
                continue;
            }
            var value = Get(path, name, nameBytes);
            if (value is null) continue; // removed since the listing
            if (value.Length > Limits.MaxXattrValueBytes)
            {
                skipped?.Add($"the extended attribute {name}: its value is longer than {Limits.MaxXattrValueBytes} bytes");
                continue;
            }
            result.Add(new ExtendedAttribute(name, value));
        }
        result.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        if (result.Count > Limits.MaxXattrCount)
        {
            skipped?.Add($"{result.Count - Limits.MaxXattrCount} extended attributes past the first {Limits.MaxXattrCount}");
            result.RemoveRange(Limits.MaxXattrCount, result.Count - Limits.MaxXattrCount);
        }
        return result;
    }

    private static byte[]? Get(string path, string name, ReadOnlySpan<byte> nameBytes)
    {
        byte[] cName = [.. nameBytes, 0];
        while (true)
        {
            nint size = LGetXattr(path, cName, null, 0);
            if (size < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == ENODATA) return null;
                throw PosixErrors.ToException(errno, $"{path} (extended attribute {name})");
            }
            var value = new byte[(int)size];
            if (size == 0) return value;
            nint got = LGetXattr(path, cName, value, (nuint)value.Length);
            if (got >= 0) return got == size ? value : value[..(int)got];
            int e = Marshal.GetLastPInvokeError();
            if (e == ENODATA) return null;
            if (e != ERANGE) throw PosixErrors.ToException(e, $"{path} (extended attribute {name})");
            // It grew between the two calls: ask again.
        }
    }

    /// <summary>Sets one attribute (creating or replacing it). Throws IOException or UnauthorizedAccessException with errno text.</summary>
    public static void Set(string path, ExtendedAttribute attribute)
    {
        byte[] cName = [.. Encoding.UTF8.GetBytes(attribute.Name), 0];
        if (LSetXattr(path, cName, attribute.Value, (nuint)attribute.Value.Length, 0) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            var reason = errno == ENOTSUP ? "the file system does not support it" : Marshal.GetPInvokeErrorMessage(errno).ToLowerInvariant();
            var message = $"{path}: cannot set the extended attribute {attribute.Name}: {reason}";
            throw errno is PosixErrors.EPERM or PosixErrors.EACCES ? new UnauthorizedAccessException(message) : new IOException(message);
        }
    }
}
