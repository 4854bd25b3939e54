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

/// <summary>A key file asks for more Argon2 work than this reader agrees to do (a hostile key file could ask for 4 GiB and 100 passes).</summary>
public sealed class KdfTooExpensiveException(string keyFile, Dedup.Crypto.Argon2Parameters asked, Dedup.Crypto.Argon2Parameters ceiling)
    : RepositoryException($"{keyFile} asks for Argon2id with {asked.MemoryKiB / 1024} MiB, {asked.Iterations} passes and {asked.Parallelism} lanes, " +
                          $"above this machine's ceiling of {ceiling.MemoryKiB / 1024} MiB, {ceiling.Iterations} passes, {ceiling.Parallelism} lanes. " +
                          "If you chose these costs, raise the ceiling with DEDUP_KDF_CEILING=MiB:passes:lanes; otherwise someone planted this key file.");

/// <summary>A repository of a format this version cannot read.</summary>
public sealed class UnsupportedFormatException(int version)
    : RepositoryException(version < Dedup.Repository.RepositoryConfig.CurrentVersion
        ? $"This repository uses format version {version}, an unreleased development format that this Dedup cannot read. Restore from it with the Dedup build that wrote it, then back up into a new repository ('dedup init')."
        : $"This repository uses format version {version}, newer than this Dedup reads ({Dedup.Repository.RepositoryConfig.CurrentVersion}). Upgrade Dedup.");
