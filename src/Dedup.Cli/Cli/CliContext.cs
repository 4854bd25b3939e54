using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Cli;

/// <summary>One invocation: its parsed arguments, output conventions, cancellation, and what it opened (disposed at exit).</summary>
public sealed class CliContext(ParsedArgs args, CancellationToken cancellation) : IAsyncDisposable
{
    private static readonly JsonSerializerOptions JsonStyle = new()
    {
        WriteIndented = false,
        // Paths and names are printed as they are; the output is not embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private StorageHandle? _storage;
    private Repo? _repo;

    public ParsedArgs Args { get; } = args;
    public CancellationToken Cancellation { get; } = cancellation;
    public bool Json => Args.Has("json");
    public bool Quiet => Args.Has("quiet");
    public TextWriter Out { get; init; } = Console.Out;
    public TextWriter Error { get; init; } = Console.Error;

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

    public void WriteJson(JsonNode? node) => Out.WriteLine(node?.ToJsonString(JsonStyle) ?? "null");

    public static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

    public string RepositoryUrl =>
        Args.Get("repo") ?? (Environment.GetEnvironmentVariable("DEDUP_REPOSITORY") is { Length: > 0 } env ? env
            : throw new UsageException("no repository: give -r/--repo or set DEDUP_REPOSITORY"));

    public StorageHandle OpenStorage() => _storage ??= StorageFactory.Open(RepositoryUrl, Args);

    /// <summary>Which snapshots a selection may pick: trusted ones, of --host if given; --include-untrusted for forensics.</summary>
    public Dedup.Repository.Snapshots.SnapshotFilter SnapshotFilter() => new()
    {
        Host = Args.Get("host"),
        IncludeUntrusted = Args.Has("include-untrusted"),
    };

    /// <summary>Says (on stdout) who signed a snapshot about to be used, so a restore never hands out data without saying whose.</summary>
    public void SaySigner(Dedup.Repository.Snapshots.LoadedSnapshot s)
    {
        var signer = s.Header.Signer;
        var who = signer.Trust switch
        {
            Dedup.Repository.Trust.SignerTrust.Repository => "a full key",
            Dedup.Repository.Trust.SignerTrust.CertifiedWriter => $"the write-only key of host '{signer.Writer!.Host}' ({signer.Identity})",
            _ => $"an UNTRUSTED signer ({signer.Problem})",
        };
        Say($"snapshot {s.Id.ToShortString()} of host '{s.Info.Host}', {Text.Iso(s.Info.Time)}, signed by {who}");
    }

    /// <summary>Opens the repository with the password, which is cleared as soon as the keys are unlocked.</summary>
    /// <param name="reads">What the verb decrypts ("restore files"), if anything: a write-only key is then refused with
    /// that one line before anything is read, instead of failing later on whatever its storage credentials cannot read.</param>
    public async Task<Repo> OpenRepositoryAsync(bool loadIndex = false, string? reads = null)
    {
        if (_repo is null)
        {
            var storage = OpenStorage().Storage;
            using var password = Passwords.ForRepository(Args, confirm: false);
            var hints = new KeyHints(Args, RepositoryUrl);
            _repo = await Repo.OpenAsync((IStorage)storage, password.Memory, ct: Cancellation, options: hints.OpenOptions()).ConfigureAwait(false);
            hints.Remember(_repo.KeyId);
        }
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
}
