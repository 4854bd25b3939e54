using System.Text.Json;

namespace Dedup.EndToEnd;

/// <summary>
/// Reads --json output. Long verbs (backup, restore, check, prune, copy) stream status lines first, as restic does;
/// the result is always the last line.
/// </summary>
public static class JsonOutput
{
    public static IReadOnlyList<JsonElement> Lines(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    public static JsonElement Result(string stdout) => Lines(stdout)[^1];
}
