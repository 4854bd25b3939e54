using System.CommandLine;
using System.Text.Json.Serialization.Metadata;
using Dedup.Cli.Profiles;
using Dedup.Repository.Snapshots;
using Dedup.Repository.Trust;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Cli;

/// <summary>
/// One invocation: its parsed command line and profile, output conventions, cancellation, and what it opened
/// (disposed at exit). Settings that a profile may give resolve here, once: option, then environment, then profile,
/// then default.
/// </summary>
public sealed class CliContext(ParseResult parse, Profile? profile, CancellationToken cancellation) : IAsyncDisposable
{
    private readonly Lock _outGate = new();
    private StorageHandle? _storage;
    private Repo? _repo;

    public ParseResult Parse { get; } = parse;
    public Profile? Profile { get; } = profile;
    public CancellationToken Cancellation { get; } = cancellation;
    public bool Json => Parse.GetValue(GlobalOptions.Json);
    public bool Quiet => Parse.GetValue(GlobalOptions.Quiet);
    public TextWriter Out { get; init; } = Console.Out;
    public TextWriter Error { get; init; } = Console.Error;

    public T? Get<T>(Option<T> option) => Parse.GetValue(option);

    public T? Get<T>(Argument<T> argument) => Parse.GetValue(argument);

    public bool Given(Option option) => Parse.Given(option);

    /// <summary>Live progress only where a person watches: stderr is a terminal and output is for humans.</summary>
    public bool ShowProgress => !Json && !Quiet && !Console.IsErrorRedirected;

    /// <summary>Human-readable output on stdout; suppressed by --quiet and --json.</summary>
    public void Say(string line)
    {
        if (!Quiet && !Json) Out.WriteLine(line);
    }

    /// <summary>A problem that does not stop the verb; always on stderr, even with --quiet.</summary>
    public void Warn(string line) => Error.WriteLine("dedup: " + OneLine(line));

    /// <summary>Says which index files were skipped as damaged; the verb goes on with the rest.</summary>
    public void WarnDamagedIndex(Repo repo)
    {
        foreach (var e in repo.DamagedIndexFiles)
            Warn($"warning: {e.Message}; it was skipped. Run 'dedup repair index' with admin credentials to rebuild the index.");
    }

    /// <summary>One JSON line on stdout; status lines from a timer thread and the result never interleave.</summary>
    public void WriteJson<T>(T value, JsonTypeInfo<T> type)
    {
        var line = JsonLines.Line(value, type);
        lock (_outGate) Out.WriteLine(line);
    }

    /// <summary>Live status on a terminal, and with --json status lines on stdout (see <see cref="ProgressReport{T}"/>).</summary>
    public ProgressReport<T> Progress<T>(Func<TimeSpan, T> sample, JsonTypeInfo<T> json, Func<T, string> render) => new(this, sample, json, render);

    /// <summary>Live status on a terminal only, for verbs whose --json output is one document.</summary>
    public ProgressReport<string> TerminalProgress(Func<TimeSpan, string> line) => new(this, line, null, s => s);

    public static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

    public string RepositoryUrl =>
        Get(GlobalOptions.Repo) ?? Env("DEDUP_REPOSITORY") ?? Profile?.Repository
        ?? throw new UsageException("no repository: give -r/--repo, set DEDUP_REPOSITORY or use a profile (-p NAME)");

    /// <summary>--cache-dir, DEDUP_CACHE_DIR, the profile's cache-dir; null for the default place.</summary>
    public string? CacheDir => Get(GlobalOptions.CacheDir) ?? Env("DEDUP_CACHE_DIR") ?? Profile?.CacheDir;

    public S3Settings S3 => new(
        Get(GlobalOptions.S3Region) ?? Profile?.S3Region,
        Get(GlobalOptions.S3StorageClass) ?? Profile?.S3StorageClass,
        Get(GlobalOptions.S3Connections) ?? Profile?.S3Connections ?? S3Settings.DefaultConnections);

    public Secret RepositoryPassword(bool confirm) =>
        Passwords.ForRepository(Get(GlobalOptions.PasswordFile), Profile?.PasswordFile, confirm);

    /// <summary>--limit-upload and --limit-download, else the profile's; null for no limit.</summary>
    public BandwidthLimits Bandwidth => new(
        Get(GlobalOptions.LimitUpload) ?? Profile?.LimitUploadKiB * 1024,
        Get(GlobalOptions.LimitDownload) ?? Profile?.LimitDownloadKiB * 1024);

    /// <summary>The key file to try first: --key, DEDUP_KEY, the profile's key; null for the one this machine remembers.</summary>
    public string? KeyId => Get(GlobalOptions.Key) ?? Env("DEDUP_KEY") ?? Profile?.Key;

    /// <summary>The verb being run ('key add'), for messages that send the user elsewhere.</summary>
    public string VerbName
    {
        get
        {
            var names = new List<string>();
            for (var r = Parse.CommandResult; r is not null && r.Command is not RootCommand; r = r.Parent as System.CommandLine.Parsing.CommandResult)
                names.Insert(0, r.Command.Name);
            return names.Count > 0 ? string.Join(' ', names) : "it";
        }
    }

    /// <summary>The host's enrolment: --enrollment FILE, else the one 'dedup enroll' installed for this URL, else none.</summary>
    public Dedup.Repository.PutOnly.Enrollment? Enrollment() =>
        Get(GlobalOptions.Enrollment) is { } file ? Dedup.Repository.PutOnly.Enrollment.Parse(File.ReadAllBytes(file), file)
        : Dedup.Repository.PutOnly.LocalState.FindEnrollment(Dedup.Repository.PutOnly.LocalState.DefaultBase(), RepositoryUrl);

    /// <summary>The store, read-only as of --as-of's moment when it is given (refused on verbs that write).</summary>
    public StorageHandle OpenStorage()
    {
        if (_storage is not null) return _storage;
        DateTimeOffset? asOf = null;
        if (Get(GlobalOptions.AsOf) is { } text)
        {
            AsOfReading.RequireReadVerb(VerbName);
            asOf = AsOfReading.ParseTime(text, "--as-of");
        }
        return _storage = StorageFactory.Open(RepositoryUrl, S3, Bandwidth, asOf);
    }

    /// <summary>Says (on stdout) who signed a snapshot about to be used, so a restore never hands out data without saying whose.</summary>
    public void SaySigner(LoadedSnapshot s)
    {
        var signer = s.Header.Signer;
        var who = signer.Trust switch
        {
            SignerTrust.Repository => "a full key",
            SignerTrust.CertifiedWriter => $"the write-only key of host '{signer.Writer!.Host}' ({signer.Identity})",
            _ => $"an UNTRUSTED signer ({signer.Problem})",
        };
        Say($"snapshot {s.Id.ToShortString()} of host '{s.Info.Host}', {Text.Iso(s.Info.Time)}, signed by {who}");
    }

    /// <summary>Opens the repository with the password, which is cleared as soon as the keys are unlocked.</summary>
    /// <param name="reads">What the verb decrypts ("restore files"), if anything: a write-only key is then refused with
    /// that one line before anything is read, instead of failing later on whatever its storage credentials cannot read.</param>
    /// <param name="rememberKey">False when the verb must write nothing to the cache folder (backup --no-cache, --dry-run):
    /// the key that opened is then not remembered either.</param>
    public async Task<Repo> OpenRepositoryAsync(bool loadIndex = false, string? reads = null, bool rememberKey = true)
    {
        if (_repo is null)
        {
            var handle = OpenStorage();
            var storage = handle.Storage;
            using var password = RepositoryPassword(confirm: false);
            if (Enrollment() is { } enrolled)
                _repo = Repo.OpenEnrolled(storage, enrolled, password.Memory.Span); // reads nothing (spec 21.1)
            else
            {
                var hints = new KeyHints(KeyId, CacheDir, RepositoryUrl, rememberKey);
                _repo = await AsOfReading.ExplainMissingAsync(handle, RepositoryUrl,
                    () => Repo.OpenAsync((IStorage)storage, password.Memory, ct: Cancellation, options: hints.OpenOptions()), Cancellation).ConfigureAwait(false);
                hints.Remember(_repo.KeyId);
            }
        }
        if (_repo.IsPutOnly && (reads is not null || loadIndex))
            throw new Dedup.Repository.RepositoryException($"this host's credentials can only upload; run '{VerbName}' on the admin host");
        if (reads is not null) _repo.Keys.RequireReadKey(reads);
        if (loadIndex)
        {
            await _repo.LoadIndexAsync(Cancellation).ConfigureAwait(false);
            WarnDamagedIndex(_repo);
        }
        return _repo;
    }

    public async ValueTask DisposeAsync()
    {
        if (_repo is not null) await _repo.DisposeAsync().ConfigureAwait(false);
        _storage?.Dispose();
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
