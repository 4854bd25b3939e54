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

    /// <summary>The ID at the end of a stored name ("data/ab/ab12…" → ab12…), or false for names that are not ours.</summary>
    public static bool TryParseId(string name, out ObjectId id)
    {
        int slash = name.LastIndexOf('/');
        var hex = slash < 0 ? name : name[(slash + 1)..];
        id = default;
        // Names are lowercase hex only, so one object has one name; a pack must sit in the folder of its first byte.
        if (hex.Any(char.IsAsciiLetterUpper) || !ObjectId.TryParse(hex, out id)) return false;
        if (name.StartsWith(DataPrefix, StringComparison.Ordinal) && name != Pack(id)) return false;
        return true;
    }
}
