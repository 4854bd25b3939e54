using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Dedup.Cli.Cli;

/// <summary>Writes --json output through the source-generated contracts: one value per line (JSON Lines).</summary>
public static class JsonLines
{
    // Paths and names are printed as they are; the output is not embedded in HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One value as one line of JSON, without a trailing newline.</summary>
    public static string Line<T>(T value, JsonTypeInfo<T> type) => Write(value, type, WriterOptions);

    /// <summary>Indented, for documents meant to be read or pasted ('dedup policy').</summary>
    public static string Indented<T>(T value, JsonTypeInfo<T> type) => Write(value, type, WriterOptions with { Indented = true });

    private static string Write<T>(T value, JsonTypeInfo<T> type, JsonWriterOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, options)) JsonSerializer.Serialize(writer, value, type);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
