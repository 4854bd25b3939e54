using System.Net;
using System.Text.RegularExpressions;

namespace Dedup.Storage.S3;

/// <summary>
/// Where a repository lives in S3, parsed from a repository URL:
/// <c>s3:https://HOST[:PORT]/BUCKET[/PREFIX]</c> (custom endpoint, path style),
/// <c>s3:http://127.0.0.1:PORT/BUCKET[/PREFIX]</c> (plain http, loopback only), or
/// <c>s3:BUCKET[/PREFIX]</c> (AWS; region from the AWS config or an option).
/// </summary>
/// <param name="Endpoint">The custom endpoint (scheme, host, port), or null for AWS.</param>
/// <param name="Bucket">The bucket name.</param>
/// <param name="Prefix">The key prefix without slashes at either end; "" for the bucket root.</param>
public sealed partial record S3Location(Uri? Endpoint, string Bucket, string Prefix)
{
    private const string Scheme = "s3:";

    /// <summary>The URL form, for messages. Never holds credentials (they are refused when parsing).</summary>
    public override string ToString()
    {
        var path = Prefix.Length == 0 ? Bucket : $"{Bucket}/{Prefix}";
        return Endpoint is null ? $"{Scheme}{path}" : $"{Scheme}{Endpoint.GetLeftPart(UriPartial.Authority)}/{path}";
    }

    /// <summary>The S3 key of an object name.</summary>
    public string KeyOf(string name) => Prefix.Length == 0 ? name : $"{Prefix}/{name}";

    /// <summary>The key prefix objects live under: "" or "PREFIX/".</summary>
    public string KeyPrefix => Prefix.Length == 0 ? "" : Prefix + "/";

    public static S3Location Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.StartsWith(Scheme, StringComparison.Ordinal))
            throw new FormatException($"An S3 repository URL starts with '{Scheme}', e.g. s3:https://host/bucket/prefix.");
        var rest = url[Scheme.Length..];
        if (rest.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            return ParseEndpoint(rest);
        if (rest.Contains("://", StringComparison.Ordinal))
            throw new FormatException("An S3 endpoint must use http:// or https://.");
        var (bucket, prefix) = SplitPath(rest);
        return new S3Location(null, bucket, prefix);
    }

    private static S3Location ParseEndpoint(string text)
    {
        // Uri would silently resolve "a/../b" to "b"; a prefix that means something else than it says is refused.
        if (text.Split('/').Skip(3).Any(segment => segment is "." or ".."))
            throw new FormatException("The S3 repository URL has a '.' or '..' path segment.");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
            throw new FormatException("The S3 endpoint in the repository URL is not a valid URL.");
        // Keys in a URL end up in shell history and logs; the AWS credential chain is the only source.
        if (uri.UserInfo.Length > 0)
            throw new FormatException("Credentials in the repository URL are not allowed; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE.");
        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
            throw new FormatException("An S3 repository URL has no query or fragment.");
        if (uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri))
            throw new FormatException(
                $"Plain http is allowed only for a server on this machine (127.0.0.1, ::1, localhost), not '{uri.Host}': use https.");
        var (bucket, prefix) = SplitPath(Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')));
        var endpoint = new Uri(uri.GetLeftPart(UriPartial.Authority));
        return new S3Location(endpoint, bucket, prefix);
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    private static (string Bucket, string Prefix) SplitPath(string path)
    {
        path = path.Trim('/');
        var slash = path.IndexOf('/');
        var bucket = slash < 0 ? path : path[..slash];
        var prefix = slash < 0 ? "" : path[(slash + 1)..].Trim('/');
        if (bucket.Length == 0)
            throw new FormatException("The S3 repository URL names no bucket.");
        if (!BucketName().IsMatch(bucket))
            throw new FormatException(
                $"'{bucket}' is not a valid bucket name: 3-63 characters, lowercase letters, digits, '.' and '-'.");
        try
        {
            StorageNames.ValidatePrefix(prefix, nameof(path));
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"The prefix in the S3 repository URL is not usable: {e.Message}", e);
        }
        return (bucket, prefix);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketName();
}
