using System.Diagnostics;
using System.Globalization;
using Dedup.Cli.Cli;

namespace Dedup.Cli.Profiles;

/// <summary>What a verb run between hooks reports: its exit code and, when one was saved, the snapshot.</summary>
public readonly record struct HookedOutcome(int ExitCode, string? SnapshotId);

/// <summary>
/// Runs a profile's hooks around a verb, as 'dedup help profiles' documents: before hooks in order (the first that
/// fails stops everything, exit code 4), the verb, then after hooks (on success) or on-failure hooks, then always
/// hooks. Each hook is "/bin/sh -c COMMAND" with stdin from /dev/null and its output on dedup's stderr, so --json
/// stays parseable; the environment says which profile, repository, hook, snapshot and exit status it is about.
/// Hooks are not cancelled with the verb: cleanup after Ctrl-C or SIGTERM is what they are for.
/// </summary>
public sealed class HookRunner(CliContext ctx, Profile profile, string verb)
{
    public async Task<int> RunAroundAsync(Func<Task<HookedOutcome>> work)
    {
        var hooks = profile.Hooks;
        HookedOutcome outcome;
        string? error = null;
        var failedBefore = await RunAllAsync("before", hooks.Before, null, stopAtFirstFailure: true).ConfigureAwait(false);
        if (failedBefore is { } f)
        {
            error = $"the before hook '{f.Command}' failed with exit code {f.ExitCode}; nothing was backed up";
            ctx.Warn(error);
            outcome = new HookedOutcome(ExitCodes.HookFailed, null);
        }
        else
        {
            try
            {
                // Ctrl-C or SIGTERM while a before hook ran: the verb does not start.
                ctx.Cancellation.ThrowIfCancellationRequested();
                outcome = await work().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Reported here, not in Program, so that the failure hooks see the error and run after its line.
                (var code, error) = ErrorReport.Report(e, ctx.Cancellation.IsCancellationRequested, ctx.Error);
                outcome = new HookedOutcome(code, null);
            }
        }

        var status = new HookStatus(outcome, error);
        var failedAfter = outcome.ExitCode == ExitCodes.Ok
            ? await RunAllAsync("after", hooks.After, status, stopAtFirstFailure: false).ConfigureAwait(false)
            : await RunAllAsync("on-failure", hooks.OnFailure, status, stopAtFirstFailure: false).ConfigureAwait(false);
        var failedAlways = await RunAllAsync("always", hooks.Always, status, stopAtFirstFailure: false).ConfigureAwait(false);
        return outcome.ExitCode == ExitCodes.Ok && (failedAfter ?? failedAlways) is not null ? ExitCodes.Error : outcome.ExitCode;
    }

    private sealed record HookStatus(HookedOutcome Outcome, string? Error);

    private sealed record FailedHook(string Command, int ExitCode);

    /// <summary>Runs the hooks of one kind in order; returns the first that failed, or null.</summary>
    private async Task<FailedHook?> RunAllAsync(string kind, IReadOnlyList<string> commands, HookStatus? status, bool stopAtFirstFailure)
    {
        FailedHook? first = null;
        foreach (var command in commands)
        {
            var code = await RunOneAsync(kind, command, status).ConfigureAwait(false);
            if (code == 0) continue;
            first ??= new FailedHook(command, code);
            if (stopAtFirstFailure) break;
            ctx.Warn($"the {kind} hook '{command}' failed with exit code {code}");
        }
        return first;
    }

    private async Task<int> RunOneAsync(string kind, string command, HookStatus? status)
    {
        if (!ctx.Quiet) ctx.Error.WriteLine($"dedup: {kind} hook: {CliContext.OneLine(command)}");
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        foreach (var secret in new[] { "DEDUP_PASSWORD", "DEDUP_FROM_PASSWORD" }) psi.Environment.Remove(secret);
        psi.Environment["DEDUP_PROFILE"] = profile.Name;
        psi.Environment["DEDUP_REPOSITORY"] = RepositoryOrEmpty();
        psi.Environment["DEDUP_HOOK"] = kind;
        psi.Environment["DEDUP_VERB"] = verb;
        psi.Environment["DEDUP_SNAPSHOT_ID"] = status?.Outcome.SnapshotId ?? "";
        if (status is not null)
        {
            psi.Environment["DEDUP_EXIT_CODE"] = status.Outcome.ExitCode.ToString(CultureInfo.InvariantCulture);
            psi.Environment["DEDUP_ERROR"] = status.Error ?? "";
        }
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            ctx.Warn($"cannot start the {kind} hook '{command}': {e.Message}");
            return 127;
        }
        using (process)
        {
            process.StandardInput.Close();
            await using var stderr = Console.OpenStandardError();
            await process.StandardOutput.BaseStream.CopyToAsync(stderr, CancellationToken.None).ConfigureAwait(false);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            return process.ExitCode;
        }
    }

    private string RepositoryOrEmpty()
    {
        try
        {
            return ctx.RepositoryUrl;
        }
        catch (UsageException)
        {
            return "";
        }
    }
}
