using System.Text;
using Dedup.Archiver.Filtering;
using Dedup.Archiver.Platform;
using Dedup.Format;

namespace Dedup.Archiver.Backup;

/// <summary>
/// What a backup leaves out, as restic's backup options say: paths matching the exclude patterns (case-sensitive or
/// not), files above a size, and the contents of directories marked by a tag file (CACHEDIR.TAG, or any
/// FILE[:HEADER] given), the tag file itself excepted so that a restore shows why the directory is empty.
/// </summary>
internal sealed class BackupExclusions
{
    /// <summary>The Cache Directory Tagging Specification (https://bford.info/cachedir/): the file name and the header it must start with.</summary>
    public const string CacheTagName = "CACHEDIR.TAG";
    public static readonly byte[] CacheTagSignature = "Signature: 8a477f597d28d172789f06886806bc55"u8.ToArray();

    private sealed record TagRule(string Name, byte[]? Header);

    private readonly PathFilter _excludes, _insensitiveExcludes;
    private readonly List<TagRule> _tags = [];
    private readonly long? _maxFileSize;

    public BackupExclusions(BackupOptions options)
    {
        _excludes = new PathFilter(options.Excludes.Concat(options.ExcludeFiles.SelectMany(PathFilter.ReadFile)));
        _insensitiveExcludes = new PathFilter(options.InsensitiveExcludes.Concat(options.InsensitiveExcludeFiles.SelectMany(PathFilter.ReadFile)), ignoreCase: true);
        if (options.ExcludeLargerThan is < 0) throw new ArgumentException("The size limit for --exclude-larger-than cannot be negative.");
        _maxFileSize = options.ExcludeLargerThan;
        if (options.ExcludeCaches) _tags.Add(new TagRule(CacheTagName, CacheTagSignature));
        foreach (var spec in options.ExcludeIfPresent) _tags.Add(ParseTag(spec));
    }

    /// <summary>"FILE" or "FILE:HEADER"; FILE is a plain name (no '/', no wildcards), as restic takes it.</summary>
    private static TagRule ParseTag(string spec)
    {
        int colon = spec.IndexOf(':');
        var name = colon < 0 ? spec : spec[..colon];
        if (!TreeCodec.IsSafeName(name))
            throw new ArgumentException($"'{spec}' is not a valid --exclude-if-present value: give a file name (no '/'), optionally followed by ':' and the header it must start with.");
        return new TagRule(name, colon < 0 ? null : Encoding.UTF8.GetBytes(spec[(colon + 1)..]));
    }

    /// <summary>True when an exclude pattern matches the entry at <paramref name="snapPath"/> (known before its lstat).</summary>
    public bool ExcludesPath(string snapPath) => _excludes.Matches(snapPath) || _insensitiveExcludes.Matches(snapPath);

    /// <summary>True when the entry is a file over the size limit.</summary>
    public bool ExcludesSize(in FileStatus status) => status.Type == NodeType.File && status.Size > _maxFileSize;

    /// <summary>
    /// For a directory whose entries are <paramref name="sortedNames"/> (ordinal order): null when no tag file marks it,
    /// else the one name to keep (the tag file). Two different tags both present keep nothing, as in restic, where
    /// each tag rule excludes everything but its own file.
    /// </summary>
    public string? TaggedKeep(string fsDir, string[] sortedNames, out bool tagged)
    {
        tagged = false;
        string? keep = null;
        foreach (var rule in _tags)
        {
            if (Array.BinarySearch(sortedNames, rule.Name, StringComparer.Ordinal) < 0 || !HeaderMatches(Path.Join(fsDir, rule.Name), rule.Header)) continue;
            keep = tagged && keep != rule.Name ? null : rule.Name;
            tagged = true;
        }
        return keep;
    }

    private static bool HeaderMatches(string path, byte[]? header)
    {
        if (header is null) return true;
        try
        {
            using var handle = File.OpenHandle(path);
            var start = new byte[header.Length];
            int read = 0;
            while (read < start.Length)
            {
                int n = RandomAccess.Read(handle, start.AsSpan(read), read);
                if (n == 0) return false;
                read += n;
            }
            return start.AsSpan().SequenceEqual(header);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // an unreadable tag is no tag: back the directory up
        }
    }
}
