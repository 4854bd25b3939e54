namespace Dedup.Cli.Cli;

/// <summary>The process exit codes; scripts rely on them, so they never change meaning.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Error = 1;
    public const int Usage = 2;
    /// <summary>The snapshot or restore finished but left some files out.</summary>
    public const int Partial = 3;
    /// <summary>A profile's before hook failed, so the verb did not run.</summary>
    public const int HookFailed = 4;
    /// <summary>'doctor --expect ROLE': the credentials can do more than ROLE allows.</summary>
    public const int CredentialsExceed = 5;
    /// <summary>'doctor --expect ROLE': the credentials keep to ROLE but lack something it needs.</summary>
    public const int CredentialsLack = 6;
    public const int RepositoryNotFound = 10;
    public const int WrongPassword = 11;
    /// <summary>Damaged or missing repository data was found.</summary>
    public const int Damaged = 12;
    /// <summary>'status': a writer is silent or its last backup changed far more than usual.</summary>
    public const int Attention = 13;
    /// <summary>128 + SIGINT, as shells report it.</summary>
    public const int Interrupted = 130;

    public const string Help = """
        Exit codes:
          0    success
          1    error (the message on stderr says what happened and what to do)
          2    usage error: unknown verb or option, missing or bad argument
          3    partial: the snapshot was saved or the restore finished, but some files could not be read
               or written, or a copy finished but some snapshots could not be copied; each is listed on stderr
          4    a before hook of the profile failed; nothing was backed up ('dedup help profiles')
          5    doctor --expect ROLE: the credentials can do more than ROLE allows (the table says what)
          6    doctor --expect ROLE: the credentials lack something ROLE needs (the table says what)
          10   there is no repository at the given location
          11   wrong password: no key of the repository opens with it
          12   damaged or missing data was found (check, or any verb that met it)
          13   status: a writer is silent (--stale) or its last backup changed far more than its usual
          130  interrupted (Ctrl-C or SIGTERM); a new backup reuses what was already stored
        """;
}
