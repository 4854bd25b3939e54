using System.Diagnostics;

namespace Dedup.TestKit;

/// <summary>
/// Runs a system tool (setfattr, getfacl, mount...) that a test uses to set up or check the file system independently
/// of Dedup's own code. A missing tool fails the test with what to install: tests never skip.
/// </summary>
public static class ExternalTool
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"'{tool}' could not be started ({e.Message}); scripts/test.sh installs the Debian packages the tests need.", e);
        }
        using (p)
        {
            var error = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(TimeSpan.FromMinutes(2))) throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish");
            return new Result(p.ExitCode, output, error.Result);
        }
    }

    /// <summary>Runs the tool and returns its output; throws with its error output when it fails.</summary>
    public static string Check(string tool, params string[] args)
    {
        var r = Run(tool, args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Error.Trim()}");
        return r.Output;
    }
}
