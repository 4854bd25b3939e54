using System.Security.Cryptography;
using System.Text;

namespace Dedup.Cli.Cli;

/// <summary>
/// A password's bytes in an array that is cleared on dispose, so it does not linger in memory as a string would.
/// The bytes are used as given: a password file's bytes are never decoded, so two different binary passwords can
/// never open the same key.
/// </summary>
public sealed class Secret(byte[] bytes, int length) : IDisposable
{
    public ReadOnlyMemory<byte> Memory => bytes.AsMemory(0, length);

    public bool SameAs(Secret other) => CryptographicOperations.FixedTimeEquals(Memory.Span, other.Memory.Span);

    public void Dispose() => CryptographicOperations.ZeroMemory(bytes);

    /// <summary>Typed text (a prompt, an environment variable) as UTF-8; the characters are cleared.</summary>
    public static Secret FromChars(char[] chars, int length)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(chars.AsSpan(0, length))];
        Encoding.UTF8.GetBytes(chars.AsSpan(0, length), bytes);
        Array.Clear(chars);
        return new Secret(bytes, bytes.Length);
    }
}

/// <summary>
/// Where passwords come from, in order: a password file (option, then DEDUP_PASSWORD_FILE), DEDUP_PASSWORD, the
/// profile's password file, then a prompt without echo when stdin is a terminal. Never from argv: it would show in ps and shell history.
/// </summary>
public static class Passwords
{
    private const int MaxLength = 4096;

    /// <param name="optionFile">--password-file, which beats the environment.</param>
    /// <param name="profileFile">The profile's password-file, which the environment beats.</param>
    public static Secret ForRepository(string? optionFile, string? profileFile, bool confirm)
    {
        var file = optionFile ?? NonEmpty(Environment.GetEnvironmentVariable("DEDUP_PASSWORD_FILE"));
        if (file is not null) return FromFile(file);
        if (FromEnvironment("DEDUP_PASSWORD") is { } env) return env;
        if (profileFile is not null) return FromFile(profileFile);
        if (Console.IsInputRedirected)
            throw new UsageException("no password: give --password-file FILE, set DEDUP_PASSWORD_FILE or DEDUP_PASSWORD, or run on a terminal");
        return confirm ? PromptTwice("new repository password: ") : Prompt("repository password: ");
    }

    /// <summary>The source repository's password for 'copy': --from-password-file, DEDUP_FROM_PASSWORD_FILE, DEDUP_FROM_PASSWORD, a prompt.</summary>
    public static Secret ForSource(string? optionFile)
    {
        var file = optionFile ?? NonEmpty(Environment.GetEnvironmentVariable("DEDUP_FROM_PASSWORD_FILE"));
        if (file is not null) return FromFile(file);
        if (FromEnvironment("DEDUP_FROM_PASSWORD") is { } env) return env;
        if (Console.IsInputRedirected)
            throw new UsageException("no password for the source repository: give --from-password-file, set DEDUP_FROM_PASSWORD_FILE or run on a terminal");
        return Prompt("source repository password: ");
    }

    /// <summary>The password for a new key ('key add', 'key passwd'): --new-password-file, else typed twice.</summary>
    public static Secret ForNewKey(string? file)
    {
        if (file is not null) return FromFile(file);
        if (Console.IsInputRedirected)
            throw new UsageException("no new password: give --new-password-file FILE or run on a terminal");
        return PromptTwice("new password: ");
    }

    /// <summary>Reads a password file; one trailing newline (as editors and echo add) is not part of the password.</summary>
    public static Secret FromFile(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UsageException("the password file name is empty");
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxLength) throw new UsageException($"the password file {path} is larger than {MaxLength} bytes: is it the right file?");
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read the password file {path}: {e.Message}");
        }
        int length = bytes.Length;
        if (length > 0 && bytes[length - 1] == (byte)'\n')
        {
            length--;
            if (length > 0 && bytes[length - 1] == (byte)'\r') length--;
        }
        if (length == 0)
        {
            CryptographicOperations.ZeroMemory(bytes);
            throw new UsageException($"the password file {path} is empty");
        }
        return new Secret(bytes, length);
    }

    /// <summary>
    /// A password from an environment variable, as the bytes the process was given: .NET decodes the environment as
    /// UTF-8 and would turn invalid bytes into U+FFFD, so on Linux the raw bytes come from /proc/self/environ.
    /// </summary>
    private static Secret? FromEnvironment(string name)
    {
        if (NonEmpty(Environment.GetEnvironmentVariable(name)) is null) return null;
        try
        {
            var environ = File.ReadAllBytes("/proc/self/environ");
            try
            {
                var prefix = Encoding.ASCII.GetBytes(name + "=");
                foreach (var range in environ.AsSpan().Split((byte)0))
                {
                    var entry = environ.AsSpan(range);
                    if (!entry.StartsWith(prefix)) continue;
                    var value = entry[prefix.Length..].ToArray();
                    return new Secret(value, value.Length);
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(environ);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No /proc (macOS): fall back to the decoded value below.
        }
        var chars = Environment.GetEnvironmentVariable(name)!.ToCharArray();
        return Secret.FromChars(chars, chars.Length);
    }

    private static Secret PromptTwice(string prompt)
    {
        var first = Prompt(prompt);
        using var second = Prompt("enter it again: ");
        if (first.SameAs(second)) return first;
        first.Dispose();
        throw new UsageException("the two passwords differ; nothing was changed");
    }

    /// <summary>Reads a line from the terminal without echo, into a buffer that is cleared whenever it grows.</summary>
    private static Secret Prompt(string prompt)
    {
        Console.Error.Write(prompt);
        var buffer = new char[64];
        int length = 0;
        try
        {
            while (true)
            {
                var key = Console.ReadKey(intercept: true);
                if (key.Key == ConsoleKey.Enter) break;
                if (key.Key == ConsoleKey.Backspace)
                {
                    if (length > 0) buffer[--length] = '\0';
                    continue;
                }
                if (key.KeyChar == '\0' || char.IsControl(key.KeyChar)) continue;
                if (length == MaxLength) throw new UsageException($"the password is longer than {MaxLength} characters");
                if (length == buffer.Length)
                {
                    var bigger = new char[buffer.Length * 2];
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    Array.Clear(buffer);
                    buffer = bigger;
                }
                buffer[length++] = key.KeyChar;
            }
        }
        catch (InvalidOperationException)
        {
            Array.Clear(buffer);
            throw new UsageException("no password: give --password-file FILE, set DEDUP_PASSWORD_FILE or DEDUP_PASSWORD, or run on a terminal");
        }
        catch
        {
            Array.Clear(buffer);
            throw;
        }
        finally
        {
            Console.Error.WriteLine();
        }
        if (length == 0)
        {
            throw new UsageException("the password is empty");
        }
        return Secret.FromChars(buffer, length);
    }

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
