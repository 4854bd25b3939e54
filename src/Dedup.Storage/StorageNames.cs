namespace Dedup.Storage;

/// <summary>Checks object names and list prefixes, so no store can be steered outside its root.</summary>
public static class StorageNames
{
    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="name"/> is a plain relative name like "data/ab/ab12".</summary>
    public static void Validate(string name, string paramName = "name")
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (name.Length == 0)
            throw new ArgumentException("Object name is empty.", paramName);
        if (name.EndsWith('/'))
            throw new ArgumentException($"Object name '{name}' ends with '/'.", paramName);
        CheckCommon(name, paramName);
    }

    /// <summary>Like <see cref="Validate"/>, but "" (everything) and a trailing '/' are allowed.</summary>
    public static void ValidatePrefix(string prefix, string paramName = "prefix")
    {
        ArgumentNullException.ThrowIfNull(prefix, paramName);
        if (prefix.Length == 0)
            return;
        CheckCommon(prefix.EndsWith('/') ? prefix[..^1] : prefix, paramName);
    }

    private static void CheckCommon(string name, string paramName)
    {
        if (name.StartsWith('/'))
            throw new ArgumentException($"Object name '{name}' is absolute.", paramName);
        if (name.Contains('\\'))
            throw new ArgumentException($"Object name '{name}' contains a backslash.", paramName);
        if (name.Contains('\0'))
            throw new ArgumentException("Object name contains a NUL character.", paramName);
        foreach (var segment in name.Split('/'))
        {
            // Empty segments ("a//b") would collapse on a file system but not on S3: two names, one file.
            if (segment.Length == 0 || segment == "." || segment == "..")
                throw new ArgumentException($"Object name '{name}' has an empty, '.' or '..' segment.", paramName);
        }
    }
}
