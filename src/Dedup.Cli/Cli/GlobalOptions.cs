namespace Dedup.Cli.Cli;

/// <summary>Options every verb accepts. Passwords are deliberately absent: they never come from argv.</summary>
public static class GlobalOptions
{
    public static readonly IReadOnlyList<OptionSpec> All =
    [
        new("repo", 'r', "URL", "repository: a local folder, s3:https://HOST/BUCKET[/PREFIX] or s3:BUCKET[/PREFIX] (env DEDUP_REPOSITORY)"),
        new("password-file", null, "FILE", "read the password from FILE, without its trailing newline (env DEDUP_PASSWORD_FILE)"),
        new("json", null, null, "machine-readable output on stdout"),
        new("quiet", 'q', null, "print nothing but errors"),
        new("s3-region", null, "REGION", "AWS region for s3:BUCKET repositories (default: the AWS configuration)"),
        new("s3-connections", null, "N", "parallel S3 transfers (default 5)"),
        new("s3-storage-class", null, "CLASS", "storage class for data packs, e.g. STANDARD_IA"),
        new("cache-dir", null, "DIR", "local cache directory; backups remember their parent's trees there (env DEDUP_CACHE_DIR)"),
        new("key", null, "ID", "open with this key file first (its full ID; env DEDUP_KEY); by default the key this machine used last"),
    ];

    public const string Environment = """
        Environment:
          DEDUP_REPOSITORY      the repository, when -r/--repo is not given
          DEDUP_PASSWORD_FILE   a file holding the password, when --password-file is not given
          DEDUP_PASSWORD        the password itself (visible to other processes of this user: prefer a file)
          DEDUP_DEBUG=1         print stack traces with errors
          DEDUP_CACHE_DIR       the local cache folder (default $XDG_CACHE_HOME/dedup or ~/.cache/dedup)
          DEDUP_FROM_PASSWORD_FILE, DEDUP_FROM_PASSWORD
                                the source repository's password for 'copy'
          DEDUP_S3_RETRIES      attempts per S3 request before giving up (default 6, with backoff)
          DEDUP_KEY             the key file to try first (full ID), when --key is not given
          DEDUP_KDF_CEILING     MiB:passes:lanes, the most Argon2 work to do for one key file (default 1024:16:16)
          AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_REGION
                                S3 credentials and region, from the standard AWS chain (never from the command line)
        Without a password file or DEDUP_PASSWORD, dedup asks on the terminal, without echo.
        """;
}
