using Dedup.Crypto;
using Dedup.Repository;
using Dedup.Storage;

namespace Dedup.TestKit;

/// <summary>
/// A repository for tests, in the manner of restic's repository/testing.go: cheap Argon2, small chunks and
/// 1 MiB packs so that tests are fast and produce many packs, a fixed password, and the index loaded.
/// Backed by a <see cref="MemoryStorage"/> or a temp folder that Dispose deletes.
/// </summary>
public sealed class TestRepo : IAsyncDisposable
{
    public const string Password = "correct horse battery staple";

    /// <summary>64 KiB and one pass: Argon2 in well under a millisecond instead of half a second.</summary>
    public static Argon2Parameters CheapKdf { get; } = new(64, 1, 1);

    public static InitOptions Options { get; } = new()
    {
        ChunkerMin = 16 * 1024,
        ChunkerAverage = 64 * 1024,
        ChunkerMax = 256 * 1024,
        PackSize = 1024 * 1024,
        Kdf = CheapKdf,
        Host = "testhost",
        Username = "tester",
    };

    private readonly TempDir? _dir;

    private TestRepo(IMaintenanceStorage storage, TempDir? dir, Repository.Repository repo)
    {
        Storage = storage;
        _dir = dir;
        Repo = repo;
    }

    public IMaintenanceStorage Storage { get; }
    public Repository.Repository Repo { get; }
    /// <summary>The repository folder, or null for an in-memory one.</summary>
    public string? Folder => _dir?.Path;

    public static Task<TestRepo> InMemoryAsync(InitOptions? options = null) => CreateAsync(new MemoryStorage(), null, options);

    public static Task<TestRepo> OnDiskAsync(InitOptions? options = null)
    {
        var dir = new TempDir("dedup-repo");
        return CreateAsync(new LocalStorage(dir.Path), dir, options);
    }

    /// <summary>A repository in a store the caller made (an S3 prefix, say) and cleans up.</summary>
    public static Task<TestRepo> OnStorageAsync(IMaintenanceStorage storage, InitOptions? options = null) => CreateAsync(storage, null, options);

    private static async Task<TestRepo> CreateAsync(IMaintenanceStorage storage, TempDir? dir, InitOptions? options)
    {
        try
        {
            await Repository.Repository.InitAsync(storage, System.Text.Encoding.UTF8.GetBytes(Password), options ?? Options).ConfigureAwait(false);
            var repo = await OpenAsync(storage).ConfigureAwait(false);
            return new TestRepo(storage, dir, repo);
        }
        catch
        {
            dir?.Dispose();
            throw;
        }
    }

    /// <summary>Opens the store again with the test password and loads the index: what a second process would see.</summary>
    public static async Task<Repository.Repository> OpenAsync(IStorage storage)
    {
        var repo = await Repository.Repository.OpenAsync(storage, System.Text.Encoding.UTF8.GetBytes(Password)).ConfigureAwait(false);
        await repo.LoadIndexAsync().ConfigureAwait(false);
        return repo;
    }

    public Task<Repository.Repository> ReopenAsync() => OpenAsync(Storage);

    /// <summary>Reads a stored object whole (for corrupting it in tests).</summary>
    public async Task<byte[]> ReadObjectAsync(string name)
    {
        await using var s = await Storage.OpenReadAsync(name).ConfigureAwait(false);
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms).ConfigureAwait(false);
        return ms.ToArray();
    }

    /// <summary>Replaces an object's bytes, as a disk fault or an attacker would. Storage itself never allows this.</summary>
    public async Task ReplaceObjectAsync(string name, byte[] bytes)
    {
        await Storage.DeleteAsync(name).ConfigureAwait(false);
        await Storage.PutAsync(name, bytes).ConfigureAwait(false);
    }

    /// <summary>Names of stored objects under a prefix ("data/", "index/", …), sorted.</summary>
    public async Task<List<string>> ListAsync(string prefix)
    {
        var names = new List<string>();
        await foreach (var o in Storage.ListAsync(prefix).ConfigureAwait(false)) names.Add(o.Name);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public async ValueTask DisposeAsync()
    {
        await Repo.DisposeAsync().ConfigureAwait(false);
        _dir?.Dispose();
    }
}
