using Dedup.Format;
using Dedup.Repository;
using Dedup.Storage;

namespace Dedup.Cli.Cli;

/// <summary>
/// Turns an exception into one line on stderr and an exit code. The layers below already phrase their messages for
/// users (what happened, what to do); this adds the advice only the CLI can give. Stack traces only with DEDUP_DEBUG=1.
/// </summary>
public static class ErrorReport
{
    public static (int Code, string Message) Describe(Exception e, bool interrupted) => e switch
    {
        UsageException => (ExitCodes.Usage, e.Message),
        OperationCanceledException when interrupted =>
            (ExitCodes.Interrupted, "interrupted; nothing half-written is visible, and the next backup reuses what was stored"),
        RepositoryNotFoundException => (ExitCodes.RepositoryNotFound, e.Message),
        WrongPasswordException => (ExitCodes.WrongPassword, e.Message),
        CorruptObjectException => (ExitCodes.Damaged, $"{e.Message}; run 'dedup check --read-data' to see what is affected"),
        BlobMissingException => (ExitCodes.Damaged, e.Message),
        RepositoryException => (ExitCodes.Error, e.Message),
        PutOnlyHostException => (ExitCodes.Error, e.Message),
        StorageAccessDeniedException { Operation: "delete" } =>
            (ExitCodes.Error, "these credentials cannot delete: run this on the admin host with admin credentials"),
        StorageAccessDeniedException => (ExitCodes.Error, $"{e.Message}; check the credentials' permissions ('dedup policy' prints what they need)"),
        StorageFullException => (ExitCodes.Error, $"{e.Message}; free some space and run it again: what was already stored is reused"),
        ObjectNotFoundException => (ExitCodes.Error, e.Message),
        ObjectArchivedException => (ExitCodes.Error, $"{e.Message} 'dedup restore SNAPSHOT --target DIR --plan' lists the archived packs a restore needs and the cost; "
            + "the same restore with --retrieve-tier standard retrieves them and goes on (copy and check --read-data take --retrieve-tier too)"),
        StorageException => (ExitCodes.Error, e.Message),
        UnauthorizedAccessException => (ExitCodes.Error, $"{e.Message}; check the file permissions, or run as a user who can read it"),
        FileNotFoundException or DirectoryNotFoundException => (ExitCodes.Error, e.Message),
        IOException => (ExitCodes.Error, e.Message),
        // The archiver reports bad option values (a path list, a file name) as ArgumentException.
        ArgumentException => (ExitCodes.Usage, e.Message),
        _ => (ExitCodes.Error, $"unexpected {e.GetType().Name}: {e.Message} (set DEDUP_DEBUG=1 to see where)"),
    };

    /// <summary>Prints the one line on stderr; returns the exit code and the line (hooks get it as DEDUP_ERROR).</summary>
    public static (int Code, string Message) Report(Exception e, bool interrupted, TextWriter stderr)
    {
        while (e is AggregateException { InnerExceptions.Count: > 0 } a) e = a.InnerExceptions[0];
        var (code, message) = Describe(e, interrupted);
        message = CliContext.OneLine(message);
        stderr.WriteLine("dedup: " + message);
        if (Environment.GetEnvironmentVariable("DEDUP_DEBUG") == "1") stderr.WriteLine(e.ToString());
        return (code, message);
    }
}
