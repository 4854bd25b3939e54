using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;

namespace Dedup.Storage.S3;

/// <summary>
/// Maps SDK failures to storage exceptions. Uses the error code and HTTP status only: RGW sends
/// empty messages, and messages could echo request details we do not want in logs.
/// </summary>
internal static class S3Errors
{
    private static readonly HashSet<string> CredentialCodes = new(StringComparer.Ordinal)
    {
        "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken", "TokenRefreshRequired", "InvalidSecurity",
    };

    private static readonly HashSet<string> TransientCodes = new(StringComparer.Ordinal)
    {
        "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "ThrottlingException",
        "RequestThrottled", "TooManyRequests", "OperationAborted",
    };

    public static bool IsStatus(AmazonServiceException e, HttpStatusCode status) => e.StatusCode == status;

    public static bool IsCode(AmazonServiceException e, string code) => string.Equals(e.ErrorCode, code, StringComparison.Ordinal);

    /// <summary>
    /// A bare 400: no S3 error document (the SDK names it after the status) and no request id. S3 servers send both
    /// for every request they processed; this is the HTTP parser rejecting what it read (see S3Storage.ResendUnparsedAsync).
    /// </summary>
    public static bool IsUnparsedRequest(AmazonServiceException e) =>
        e.StatusCode == HttpStatusCode.BadRequest && e.ErrorCode is null or "" or "BadRequest" && string.IsNullOrEmpty(e.RequestId);

    /// <param name="operation">"put", "read", "stat", "list", "delete", "abort-uploads", "bucket"…</param>
    /// <param name="key">The S3 key (or key prefix) involved.</param>
    public static Exception Map(Exception e, S3Location location, string operation, string key, CancellationToken cancellationToken)
    {
        if (e is StorageException or ArgumentException)
            return e;
        if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
            return e; // Our own cancellation: not a store failure.
        var bucket = location.Bucket;
        var what = $"{operation} of '{key}' in bucket '{bucket}'";
        if (e is AmazonServiceException s && (s.StatusCode != 0 || !string.IsNullOrEmpty(s.ErrorCode)))
        {
            var code = string.IsNullOrEmpty(s.ErrorCode) ? "(none)" : s.ErrorCode;
            var status = (int)s.StatusCode;
            var detail = $"S3 error {code}, HTTP {status}";
            if (CredentialCodes.Contains(code))
                return new StorageException(
                    $"{location}: the server rejected the credentials ({detail}). Check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE.", e);
            if (code == "RequestTimeTooSkewed")
                return new StorageException($"{location}: this machine's clock differs too much from the server's ({detail}).", e);
            if (code == "NoSuchBucket")
                return new ObjectNotFoundException($"{location}: bucket '{bucket}' does not exist ({detail}).", e);
            if (code == "InvalidObjectState" && operation == "read")
                return new ObjectArchivedException(
                    $"{location}: '{key}' is in an archive storage class and has no retrieved copy to read ({detail}); request its retrieval first.",
                    key.StartsWith(location.KeyPrefix, StringComparison.Ordinal) ? key[location.KeyPrefix.Length..] : key, null, e);
            if (status == 403 || code == "AccessDenied")
                return new StorageAccessDeniedException($"{location}: access denied for {what} ({detail}).", e) { Operation = operation };
            if (status == 404 || code is "NoSuchKey" or "NotFound")
                return new ObjectNotFoundException($"{location}: '{key}' does not exist ({detail}).", e);
            if (status >= 500 || status == 429 || TransientCodes.Contains(code) || IsUnparsedRequest(s))
                return new StorageUnavailableException($"{location}: the server failed the {what} ({detail}); retrying may help.", e);
            return new StorageException($"{location}: {what} failed ({detail}).", e);
        }
        if (IsNetworkFailure(e))
            return new StorageUnavailableException($"{location}: could not reach the server for the {what} ({Describe(e)}).", e);
        if (e is AmazonClientException && Chain(e).Any(x => x.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase)))
            return new StorageException(
                $"{location}: no usable AWS credentials. Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE.", e);
        if (e is AmazonClientException)
            return new StorageException($"{location}: {what} failed ({e.GetType().Name}).", e);
        return e;
    }

    /// <summary>Connection refused/reset, DNS, timeouts: anything below HTTP that a retry may fix.</summary>
    private static bool IsNetworkFailure(Exception e) => Chain(e).Any(x =>
        x is HttpRequestException or IOException or SocketException or TimeoutException
        || x is TaskCanceledException or OperationCanceledException); // An HttpClient timeout surfaces as a cancellation.

    private static string Describe(Exception e)
    {
        var socket = Chain(e).OfType<SocketException>().FirstOrDefault();
        if (socket is not null)
            return socket.SocketErrorCode.ToString();
        var innermost = Chain(e).Last();
        return innermost is TaskCanceledException or OperationCanceledException ? "timed out" : innermost.GetType().Name;
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            yield return x;
    }
}
