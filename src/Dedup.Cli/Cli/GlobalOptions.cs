using System.CommandLine;
using System.CommandLine.Help;

namespace Dedup.Cli.Cli;

/// <summary>
/// Options every verb accepts, before or after the verb. Passwords are deliberately absent: they never come from argv.
/// A profile (-p) supplies the repository, password file, key, cache, bandwidth and S3 settings that neither an option
/// nor the environment gives.
/// </summary>
public static class GlobalOptions
{
    public static readonly Option<string> Repo = Global(Opt.Text("repo", "URL",
        "repository: a local folder, s3:https://HOST/BUCKET[/PREFIX] or s3:BUCKET[/PREFIX] (env DEDUP_REPOSITORY)", 'r'));

    public static readonly Option<string> PasswordFile = Global(Opt.Text("password-file", "FILE",
        "read the password from FILE, without its trailing newline (env DEDUP_PASSWORD_FILE)"));

    public static readonly Option<string> Profile = Global(Opt.Text("profile", "NAME",
        "take repository, password file, paths and hooks from this profile of the config file ('dedup help profiles')", 'p'));

    public static readonly Option<bool> Json = Global(Opt.Flag("json", "machine-readable output on stdout (long operations stream status lines first)"));

    public static readonly Option<bool> Quiet = Global(Opt.Flag("quiet", "print nothing but errors", 'q'));

    public static readonly Option<string> S3Region = Global(Opt.Text("s3-region", "REGION", "AWS region for s3:BUCKET repositories (default: the AWS configuration)"));

    public static readonly Option<int?> S3Connections = Global(Opt.Int("s3-connections", "N", 1, 256, "parallel S3 transfers (default 5)"));

    public static readonly Option<string> S3StorageClass = Global(Opt.Text("s3-storage-class", "CLASS", "storage class for data packs, e.g. STANDARD_IA"));

    public static readonly Option<string> CacheDir = Global(Opt.Text("cache-dir", "DIR",
        "local cache directory; backups remember their parent's trees there (env DEDUP_CACHE_DIR)"));

    public static readonly Option<string> Key = Global(Opt.Text("key", "ID",
        "open with this key file first (its full ID; env DEDUP_KEY); by default the key this machine opened last"));

    public static readonly Option<string> Enrollment = Global(Opt.Text("enrollment", "FILE",
        "open from this enrolment file, reading nothing from the repository (a put-only host; see 'dedup enroll')"));

    public static readonly Option<long?> LimitUpload = Global(Opt.Rate("limit-upload", "limit uploads to RATE KiB/s across all connections (as restic)"));

    public static readonly Option<long?> LimitDownload = Global(Opt.Rate("limit-download", "limit downloads to RATE KiB/s across all connections (as restic)"));

    public static readonly Option<string> AsOf = Global(Opt.Text("as-of", "TIME", AsOfReading.Help));

    /// <summary>"-h, --help" only: System.CommandLine's default also takes "-?" and "/?".</summary>
    public static readonly HelpOption Help = new("--help", "-h") { Description = "show this help", Recursive = true };

    public static readonly IReadOnlyList<Option> All = [Repo, PasswordFile, Profile, Json, Quiet, S3Region, S3Connections, S3StorageClass, CacheDir, Key, Enrollment, LimitUpload, LimitDownload, AsOf];

    public const string Environment = """
        Environment:
          DEDUP_REPOSITORY      the repository, when -r/--repo is not given
          DEDUP_PASSWORD_FILE   a file holding the password, when --password-file is not given
          DEDUP_PASSWORD        the password itself (visible to other processes of this user: prefer a file)
          DEDUP_DEBUG=1         print stack traces with errors
          DEDUP_CACHE_DIR       the local cache folder (default $XDG_CACHE_HOME/dedup or ~/.cache/dedup)
          DEDUP_CONFIG          the config file with the profiles (default /etc/dedup/config.toml, then
                                $XDG_CONFIG_HOME/dedup/config.toml or ~/.config/dedup/config.toml)
          DEDUP_FROM_PASSWORD_FILE, DEDUP_FROM_PASSWORD
                                the source repository's password for 'copy'
          DEDUP_S3_RETRIES      attempts per S3 request before giving up (default 6, with backoff)
          DEDUP_PROGRESS_FPS    status lines per second with --json (default 1)
          DEDUP_KEY             the key file to try first (full ID), when --key is not given
          DEDUP_STATE_DIR       a put-only host's enrolments and local state (default $XDG_STATE_HOME/dedup or ~/.local/state/dedup)
          DEDUP_KDF_CEILING     MiB:passes:lanes, the most Argon2 work to do for one key file (default 1024:16:16)
          AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_REGION
                                S3 credentials and region, from the standard AWS chain (never from the command line)
        Without a password file or DEDUP_PASSWORD, dedup asks on the terminal, without echo.
        An option beats the environment, which beats the profile, which beats the default.
        """;

    private static Option<T> Global<T>(Option<T> option)
    {
        option.Recursive = true;
        return option;
    }
}
