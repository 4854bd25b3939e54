namespace Dedup.TestKit;

/// <summary>A fresh directory under the system temp folder, deleted (best effort) on Dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "dedup-test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>A path inside the directory (not created).</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Creates a subdirectory and returns its path.</summary>
    public string CreateDirectory(string name) => Directory.CreateDirectory(Combine(name)).FullName;

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A test that left a file open only leaks a temp folder; never fail the test for it.
        }
        catch (UnauthorizedAccessException)
        {
            // Same: e.g. a test made a directory read-only.
        }
    }
}

/// <summary>Finds the checkout root (the folder holding Dedup.sln), so tests can load spec vectors and the fuzz corpus.</summary>
public static class RepoRoot
{
    /// <summary>DEDUP_REPO_ROOT when set (for test builds outside the tree), else the first folder above the test binaries or the working directory holding Dedup.sln.</summary>
    public static string Find()
    {
        if (Environment.GetEnvironmentVariable("DEDUP_REPO_ROOT") is { Length: > 0 } env) return env;
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "Dedup.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No Dedup.sln above {AppContext.BaseDirectory}; set DEDUP_REPO_ROOT.");
    }

    public static string Combine(params string[] parts) => System.IO.Path.Combine([Find(), .. parts]);
}
