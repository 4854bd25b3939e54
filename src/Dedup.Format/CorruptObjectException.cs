namespace Dedup.Format;

/// <summary>
/// The one exception every parser of stored bytes throws for bad input: truncated, malformed,
/// failing authentication, or not matching its name. The message names the object and says why,
/// fit to show a user as one line. Parsers never throw anything else for hostile bytes.
/// </summary>
public sealed class CorruptObjectException : Exception
{
    public CorruptObjectException(string objectName, string reason, Exception? inner = null)
        : base($"{objectName} is damaged: {reason}", inner)
    {
        ObjectName = objectName;
        Reason = reason;
    }

    /// <summary>The storage name ("index/ab12…") or a description ("blob 3f2a… in pack data/…").</summary>
    public string ObjectName { get; }
    public string Reason { get; }
}
