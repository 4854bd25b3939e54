namespace Dedup.Repository;

/// <summary>Base of the repository's user-facing errors: each message is one line saying what happened and what to do.</summary>
public class RepositoryException(string message, Exception? inner = null) : Exception(message, inner);

public sealed class RepositoryNotFoundException(string location)
    : RepositoryException($"There is no Dedup repository at {location}. Check the path, or create one with 'dedup init'.");

public sealed class RepositoryExistsException(string location)
    : RepositoryException($"A repository already exists at {location}; refusing to initialise it again.");

public sealed class WrongPasswordException()
    : RepositoryException("Wrong password: no key file of this repository opens with it.");

/// <summary>A write-only key was asked to decrypt.</summary>
public sealed class MissingCapabilityException(string what)
    : RepositoryException($"This key is write-only: it cannot {what}. Use a full key on the admin host.");
