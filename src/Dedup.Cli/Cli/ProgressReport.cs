using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization.Metadata;

namespace Dedup.Cli.Cli;

/// <summary>
/// Progress of a long operation, from counters the worker threads update. Where a person watches (stderr is a
/// terminal, no --json) it is one live line on stderr, redrawn four times a second; with --json it is a stream of
/// status records on stdout, as restic prints them: one when the operation starts, then DEDUP_PROGRESS_FPS a second
/// (default 1), and one when it ends, before the summary. Otherwise nothing: a log has no use for carriage returns.
/// </summary>
public sealed class ProgressReport<TStatus> : IDisposable
{
    private readonly CliContext _ctx;
    private readonly Func<TimeSpan, TStatus> _sample;
    private readonly JsonTypeInfo<TStatus>? _json;
    private readonly Func<TStatus, string> _render;
    private readonly Timer? _timer;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private readonly bool _jsonLines;
    private bool _stopped;
    private bool _drawn;

    /// <param name="sample">Reads the counters into a status record; called on a timer thread.</param>
    /// <param name="json">The status record's contract; null for a verb that streams no status lines.</param>
    /// <param name="render">The status as the one human-readable line.</param>
    public ProgressReport(CliContext ctx, Func<TimeSpan, TStatus> sample, JsonTypeInfo<TStatus>? json, Func<TStatus, string> render)
    {
        _ctx = ctx;
        _sample = sample;
        _json = json;
        _render = render;
        _jsonLines = json is not null && ctx.Json && !ctx.Quiet;
        if (_jsonLines)
        {
            WriteJson();
            var interval = TimeSpan.FromSeconds(1 / JsonFramesPerSecond());
            _timer = new Timer(_ => Tick(), null, interval, interval);
        }
        else if (ctx.ShowProgress)
        {
            _timer = new Timer(_ => Tick(), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
        }
    }

    public TimeSpan Elapsed => _clock.Elapsed;

    private void Tick()
    {
        lock (_gate)
        {
            if (_stopped) return;
            if (_jsonLines) WriteJson();
            else Draw();
        }
    }

    private void WriteJson() => _ctx.WriteJson(_sample(_clock.Elapsed), _json!);

    private void Draw()
    {
        var line = _render(_sample(_clock.Elapsed));
        var width = Console.IsOutputRedirected ? 120 : SafeWidth();
        if (line.Length >= width) line = line[..(width - 1)];
        Console.Error.Write("\r" + line + "\x1b[K");
        _drawn = true;
    }

    /// <summary>
    /// Writes output of a verb that prints while it works (diff's changes): a status line drawn on the terminal is
    /// cleared first, so the output does not run on from it; the next tick draws it again below.
    /// </summary>
    public void Above(Action write)
    {
        lock (_gate)
        {
            if (_drawn)
            {
                Console.Error.Write("\r\x1b[K");
                _drawn = false;
            }
            write();
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

    /// <summary>DEDUP_PROGRESS_FPS, like restic's RESTIC_PROGRESS_FPS: status lines per second with --json.</summary>
    private static double JsonFramesPerSecond()
    {
        var text = Environment.GetEnvironmentVariable("DEDUP_PROGRESS_FPS");
        if (string.IsNullOrEmpty(text)) return 1;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var fps) || !(fps is >= 0.01 and <= 60))
            throw new UsageException($"DEDUP_PROGRESS_FPS takes a number from 0.01 to 60, not '{text}'");
        return fps;
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

    /// <summary>Stops the timer; with --json writes the final status, so every stream has one at each end.</summary>
    public void Dispose()
    {
        _timer?.Dispose();
        lock (_gate)
        {
            if (_stopped) return;
            _stopped = true;
            if (_jsonLines) WriteJson();
            else if (_timer is not null) Console.Error.Write("\r\x1b[K");
        }
    }
}
