using System.Diagnostics;

namespace Dedup.Cli.Cli;

/// <summary>
/// A one-line live status on stderr, redrawn about four times a second from counters the worker threads update.
/// Only used when stderr is a terminal; on a pipe it would fill logs with carriage returns.
/// </summary>
public sealed class ProgressLine : IDisposable
{
    private readonly Func<TimeSpan, string> _render;
    private readonly Timer? _timer;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private bool _stopped;

    /// <param name="render">Builds the status from the elapsed time; called on a timer thread.</param>
    public ProgressLine(CliContext ctx, Func<TimeSpan, string> render)
    {
        _render = render;
        if (ctx.ShowProgress) _timer = new Timer(_ => Draw(), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
    }

    public TimeSpan Elapsed => _clock.Elapsed;

    private void Draw()
    {
        lock (_gate)
        {
            if (_stopped) return;
            var line = _render(_clock.Elapsed);
            var width = Console.IsOutputRedirected ? 120 : SafeWidth();
            if (line.Length >= width) line = line[..(width - 1)];
            Console.Error.Write("\r" + line + "\x1b[K");
        }
    }

    private static int SafeWidth()
    {
        try
        {
            return Math.Max(40, Console.WindowWidth);
        }
        catch (IOException)
        {
            return 120;
        }
    }

    /// <summary>Rate in MiB/s and, when the total is known, the time left.</summary>
    public static string RateAndEta(long done, long total, TimeSpan elapsed)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 0.001);
        var rate = done / seconds;
        var text = $"{rate / (1024 * 1024):0.0} MiB/s";
        if (total > 0 && done > 0 && done <= total)
            text += $", ETA {Text.Duration(TimeSpan.FromSeconds((total - done) / rate))}";
        return text;
    }

    public void Dispose()
    {
        if (_timer is null) return;
        _timer.Dispose();
        lock (_gate)
        {
            _stopped = true;
            Console.Error.Write("\r\x1b[K");
        }
    }
}
