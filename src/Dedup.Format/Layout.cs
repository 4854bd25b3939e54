namespace Dedup.Format;

/// <summary>
/// Where each kind of object lives in a store. The same names serve a local folder and an S3 prefix.
/// See spec/repository-format.md, "Layout".
/// </summary>
public static class Layout
{
    public const string Config = "config";
    public const string KeysPrefix = "keys/";
    public const string DataPrefix = "data/";
    public const string IndexPrefix = "index/";
    public const string SnapshotsPrefix = "snapshots/";

    /// <summary>Packs are spread over 256 folders by the first byte of their ID, as restic does, to keep local directories small.</summary>
    public static string Pack(ObjectId id)
    {
        var hex = id.ToString();
        return $"{DataPrefix}{hex[..2]}/{hex}";
    }

    public static string Index(ObjectId id) => IndexPrefix + id;
    public static string Snapshot(ObjectId id) => SnapshotsPrefix + id;
    public static string Key(ObjectId id) => KeysPrefix + id;

    /// <summary>
    /// The ID of a stored name ("snapshots/ab12…", "data/ab/ab12…" → ab12…), or false for names that are not ours. An
    /// object has exactly one name: lowercase hex directly under its prefix, a pack in the folder of its first byte.
    /// Anything else is skipped, because a second name for the same bytes is a copy with a storage time of its own: an
    /// old snapshot of another host put again as "snapshots/x/&lt;id&gt;" would count at that new time (its host's
    /// "latest", and the newest that retention always keeps), and a mark or marker at a later time would hold prune back.
    /// </summary>
    public static bool TryParseId(string name, out ObjectId id)
    {
        int slash = name.LastIndexOf('/');
        var hex = name[(slash + 1)..];
        id = default;
        if (hex.Any(char.IsAsciiLetterUpper) || !ObjectId.TryParse(hex, out id)) return false;
        if (name.StartsWith(DataPrefix, StringComparison.Ordinal)) return name == Pack(id);
        return name.IndexOf('/') == slash;
    }
}
