using System.Text;
using Dedup.Archiver.Filtering;
using Dedup.Archiver.Platform;

namespace Dedup.Archiver.Backup;

/// <summary>
/// The paths a backup starts from: the ones given, plus those listed in --files-from files (restic's three forms,
/// doc/040_backup.rst "Including Files"). Paths may be absolute or relative to the working directory.
/// </summary>
internal static class SourceList
{
    /// <summary>All paths to back up, in the order given; <paramref name="warnings"/> gets patterns that matched nothing.</summary>
    public static List<string> Collect(BackupOptions options, ICollection<string> warnings)
    {
        var paths = new List<string>(options.Paths);
        foreach (var file in options.FilesFrom)
        {
            foreach (var line in Lines(ReadText(file)))
            {
                var pattern = line.Trim();
                if (pattern.Length == 0 || pattern.StartsWith('#')) continue;
                var matches = Glob(pattern);
                if (matches.Count == 0) warnings.Add($"'{pattern}' in {Name(file)} matches no file; it was skipped.");
                paths.AddRange(matches);
            }
        }
        foreach (var file in options.FilesFromVerbatim)
            paths.AddRange(Lines(ReadText(file)).Where(l => l.Length > 0));
        foreach (var file in options.FilesFromRaw)
            paths.AddRange(RawEntries(file));
        return paths;
    }

    private static string Name(string file) => file == "-" ? "standard input" : file;

    private static Stream Open(string file) => file == "-" ? Console.OpenStandardInput() : File.OpenRead(file);

    /// <summary>UTF-8, or UTF-16 with a byte-order mark, as restic accepts.</summary>
    private static string ReadText(string file)
    {
        using var reader = new StreamReader(Open(file), new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>Lines ended by "\n" or "\r\n" (a last line without an end counts too).</summary>
    private static IEnumerable<string> Lines(string text)
    {
        foreach (var line in text.Split('\n'))
            yield return line.EndsWith('\r') ? line[..^1] : line;
    }

    /// <summary>Entries ended by NUL bytes; each must be UTF-8, the only names trees can hold.</summary>
    private static List<string> RawEntries(string file)
    {
        var entries = new List<string>();
        using var ms = new MemoryStream();
        using (var s = Open(file)) s.CopyTo(ms);
        var strict = new UTF8Encoding(false, true);
        int number = 0;
        foreach (var range in ms.GetBuffer().AsSpan(0, (int)ms.Length).Split((byte)0))
        {
            var bytes = ms.GetBuffer().AsSpan(0, (int)ms.Length)[range];
            number++;
            if (bytes.IsEmpty) continue;
            string path;
            try
            {
                path = strict.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw new ArgumentException($"Entry {number} of {Name(file)} is not valid UTF-8; Dedup stores only UTF-8 file names.");
            }
            entries.Add(path);
        }
        return entries;
    }

    /// <summary>
    /// Expands a pattern against the file system as Go's filepath.Glob does: each component with '*', '?', '[' or '\'
    /// is matched against the names in its directory (sorted); a pattern without them names itself if it exists.
    /// </summary>
    internal static List<string> Glob(string pattern)
    {
        var parts = pattern.Split('/');
        var found = new List<string> { parts[0].Length == 0 ? "/" : "" };
        int first = 0;
        if (parts[0].Length == 0) first = 1;
        for (int i = first; i < parts.Length; i++)
        {
            var part = parts[i];
            if (part.Length == 0) continue;
            var next = new List<string>();
            if (!GlobComponent.HasMeta(part))
            {
                foreach (var dir in found) next.Add(Join(dir, part));
            }
            else
            {
                var glob = GlobComponent.Parse(part, pattern);
                foreach (var dir in found)
                {
                    var listDir = dir.Length == 0 ? "." : dir;
                    if (!Directory.Exists(listDir)) continue;
                    string[] names;
                    try
                    {
                        names = Directory.EnumerateFileSystemEntries(listDir).Select(Path.GetFileName).OfType<string>().ToArray();
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        continue; // as filepath.Glob: an unreadable directory matches nothing
                    }
                    Array.Sort(names, StringComparer.Ordinal);
                    next.AddRange(names.Where(glob.Matches).Select(n => Join(dir, n)));
                }
            }
            found = next;
        }
        return found.Where(p => p.Length > 0 && Exists(p)).ToList();
    }

    private static bool Exists(string path)
    {
        try
        {
            return PosixFile.TryLStat(path, out _);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Join(string dir, string name) => dir.Length == 0 ? name : dir == "/" ? "/" + name : dir + "/" + name;
}
