namespace Dedup.Storage;

/// <summary>
/// Base of every storage error. Messages name the location and the object, never a credential,
/// and are fit to show a user as one line.
/// </summary>
public class StorageException : Exception
{
    public StorageException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>True when retrying the same call may succeed (5xx, throttling, timeouts, resets).</summary>
    public virtual bool IsTransient => false;
}

/// <summary>The object does not exist.</summary>
public sealed class ObjectNotFoundException(string message, Exception? inner = null) : StorageException(message, inner);

/// <summary>The credentials are not allowed to do this (HTTP 403, EACCES). Permanent.</summary>
public sealed class StorageAccessDeniedException(string message, Exception? inner = null) : StorageException(message, inner)
{
    /// <summary>The operation that was refused, e.g. "delete"; lets the CLI say "this must run on the admin host".</summary>
    public string? Operation { get; init; }
}

/// <summary>The store is unreachable, overloaded or failed in a way that retrying may fix.</summary>
public sealed class StorageUnavailableException(string message, Exception? inner = null) : StorageException(message, inner)
{
    public override bool IsTransient => true;
}

/// <summary>The store has no space left (ENOSPC, quota).</summary>
public sealed class StorageFullException(string message, Exception? inner = null) : StorageException(message, inner);
