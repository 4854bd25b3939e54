namespace Dedup.Storage;

/// <summary>How <see cref="RetryingStorage"/> retries: exponential backoff with jitter.</summary>
public sealed record RetryPolicy
{
    /// <summary>Total attempts, the first included.</summary>
    public int MaxAttempts { get; init; } = 6;

    /// <summary>The delay before the second attempt; it doubles after each failure.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(0.5);

    /// <summary>No single delay is longer than this.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock that delays run on; tests inject one that does not really wait.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Called before each retry with the attempt that failed (1-based), the error and the delay. For logs.</summary>
    public Action<int, Exception, TimeSpan>? OnRetry { get; init; }

    public static RetryPolicy Default { get; } = new();

    /// <summary>No retries at all.</summary>
    public static RetryPolicy None { get; } = new() { MaxAttempts = 1 };

    /// <summary>
    /// The delay after failed attempt <paramref name="attempt"/> (1-based): a random value between half
    /// and all of min(MaxDelay, BaseDelay·2^(attempt-1)). Jitter keeps many clients from retrying in step.
    /// </summary>
    public TimeSpan DelayFor(int attempt, double random)
    {
        var exponential = BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = Math.Min(exponential, MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.5 + (0.5 * random)));
    }

    /// <summary>Whether retrying may help: the store said so, or a timeout happened outside the store's mapping.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        StorageException s => s.IsTransient,
        TimeoutException => true,
        _ => false,
    };
}
