using System.Security.Cryptography;
using System.Text;

namespace Dedup.Cli.Cli;

/// <summary>A password in a char array that is cleared on dispose, so it does not linger in memory as a string would.</summary>
public sealed class Secret(char[] chars, int length) : IDisposable
{
    public ReadOnlyMemory<char> Memory => chars.AsMemory(0, length);

    public bool SameAs(Secret other) => Memory.Span.SequenceEqual(other.Memory.Span);

    public void Dispose() => Array.Clear(chars);
}

/// <summary>
/// Where passwords come from, in order: a password file (option, then DEDUP_PASSWORD_FILE), DEDUP_PASSWORD,
/// then a prompt without echo when stdin is a terminal. Never from argv: it would show in ps and shell history.
/// </summary>
public static class Passwords
{
    private const int MaxLength = 4096;

    public static Secret ForRepository(ParsedArgs args, bool confirm)
    {
        var file = args.Get("password-file") ?? NonEmpty(Environment.GetEnvironmentVariable("DEDUP_PASSWORD_FILE"));
        if (file is not null) return FromFile(file);
        if (NonEmpty(Environment.GetEnvironmentVariable("DEDUP_PASSWORD")) is { } env)
        {
            var chars = env.ToCharArray();
            return new Secret(chars, chars.Length);
        }
        if (Console.IsInputRedirected)
            throw new UsageException("no password: give --password-file FILE, set DEDUP_PASSWORD_FILE or DEDUP_PASSWORD, or run on a terminal");
        return confirm ? PromptTwice("new repository password: ") : Prompt("repository password: ");
    }

    /// <summary>The source repository's password for 'copy': --from-password-file, DEDUP_FROM_PASSWORD_FILE, DEDUP_FROM_PASSWORD, a prompt.</summary>
    public static Secret ForSource(ParsedArgs args)
    {
        var file = args.Get("from-password-file") ?? NonEmpty(Environment.GetEnvironmentVariable("DEDUP_FROM_PASSWORD_FILE"));
        if (file is not null) return FromFile(file);
        if (NonEmpty(Environment.GetEnvironmentVariable("DEDUP_FROM_PASSWORD")) is { } env)
        {
            var chars = env.ToCharArray();
            return new Secret(chars, chars.Length);
        }
        if (Console.IsInputRedirected)
            throw new UsageException("no password for the source repository: give --from-password-file, set DEDUP_FROM_PASSWORD_FILE or run on a terminal");
        return Prompt("source repository password: ");
    }

    /// <summary>The password for a new key ('key add', 'key passwd'): --new-password-file, else typed twice.</summary>
    public static Secret ForNewKey(ParsedArgs args)
    {
        if (args.Get("new-password-file") is { } file) return FromFile(file);
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
        var chars = new char[Encoding.UTF8.GetCharCount(bytes)];
        Encoding.UTF8.GetChars(bytes, chars);
        CryptographicOperations.ZeroMemory(bytes);
        int length = chars.Length;
        if (length > 0 && chars[length - 1] == '\n')
        {
            length--;
            if (length > 0 && chars[length - 1] == '\r') length--;
        }
        if (length == 0)
        {
            Array.Clear(chars);
            throw new UsageException($"the password file {path} is empty");
        }
        return new Secret(chars, length);
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
        return new Secret(buffer, length);
    }

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
