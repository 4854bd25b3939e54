using System.Runtime.CompilerServices;

namespace Dedup.Storage;

/// <summary>
/// Retries transient failures of an inner store (like restic's backend_retry). Permanent errors,
/// cancellation and argument errors pass through at once.
/// </summary>
public class RetryingStorage(IStorage inner, RetryPolicy? policy = null) : IStorage
{
    protected IStorage Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));
    protected RetryPolicy Policy { get; } = policy ?? RetryPolicy.Default;

    public string Location => Inner.Location;

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        PutAsync(name, data, PutHint.None, cancellationToken);

    public async Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, PutHint hint, CancellationToken cancellationToken = default)
    {
        var failedBefore = false;
        var outcome = await RunAsync(async ct =>
        {
            try
            {
                return await Inner.PutAsync(name, data, hint, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (RetryPolicy.IsTransient(e))
            {
                failedBefore = true;
                throw;
            }
        }, cancellationToken).ConfigureAwait(false);
        if (outcome == PutOutcome.AlreadyExists && failedBefore
            && await HoldsAsync(name, data, cancellationToken).ConfigureAwait(false))
        {
            // A failed attempt may have landed before its response was lost. The object holds
            // exactly our bytes, so from the caller's view this put created it.
            return PutOutcome.Created;
        }
        return outcome;
    }

    /// <summary>
    /// Opens with retries, and returns a stream that resumes at the offset reached when the connection fails mid-body
    /// (<see cref="ResumingReadStream"/>): callers read a range once and never retry it themselves.
    /// </summary>
    public async Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        var first = await OpenAtAsync(name, offset, length, cancellationToken).ConfigureAwait(false);
        return new ResumingReadStream(this, name, offset, length, first);
    }

    internal Task<Stream> OpenAtAsync(string name, long offset, long length, CancellationToken cancellationToken) =>
        RunAsync(ct => Inner.OpenReadAsync(name, offset, length, ct), cancellationToken);

    internal int MaxAttempts => Policy.MaxAttempts;

    internal Task BackoffAsync(int attempt, Exception e, CancellationToken cancellationToken) => DelayAsync(attempt, e, cancellationToken);

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) =>
        RunAsync(ct => Inner.StatAsync(name, ct), cancellationToken);

    /// <summary>
    /// On a transient failure the listing restarts and skips names already yielded (as restic does),
    /// so the caller sees each object once. The set of seen names costs memory proportional to the listing.
    /// </summary>
    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var attempt = 1; ; attempt++)
        {
            var enumerator = Inner.ListAsync(prefix, cancellationToken).GetAsyncEnumerator(cancellationToken);
            Exception? failure = null;
            try
            {
                while (true)
                {
                    StoredObject item;
                    try
                    {
                        if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                            yield break;
                        item = enumerator.Current;
                    }
                    catch (Exception e) when (ShouldRetry(e, attempt, cancellationToken))
                    {
                        failure = e;
                        break;
                    }
                    if (seen.Add(item.Name))
                        yield return item;
                }
            }
            finally
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }
            await DelayAsync(attempt, failure!, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs <paramref name="operation"/> until it succeeds, fails permanently or attempts run out.</summary>
    protected async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await operation(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (ShouldRetry(e, attempt, cancellationToken))
            {
                await DelayAsync(attempt, e, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    protected Task RunAsync(Func<CancellationToken, Task> operation, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await operation(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    private bool ShouldRetry(Exception e, int attempt, CancellationToken cancellationToken) =>
        attempt < Policy.MaxAttempts && !cancellationToken.IsCancellationRequested && RetryPolicy.IsTransient(e);

    private Task DelayAsync(int attempt, Exception e, CancellationToken cancellationToken)
    {
        var delay = Policy.DelayFor(attempt, Random.Shared.NextDouble());
        Policy.OnRetry?.Invoke(attempt, e, delay);
        return Task.Delay(delay, Policy.TimeProvider, cancellationToken);
    }

    private async Task<bool> HoldsAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var stream = await RunAsync(ct => Inner.OpenReadAsync(name, 0, -1, ct), cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[Math.Min(Math.Max(data.Length, 1), 1 << 20)];
            var position = 0;
            while (true)
            {
                var n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                    return position == data.Length;
                if (position + n > data.Length || !data.Span.Slice(position, n).SequenceEqual(buffer.AsSpan(0, n)))
                    return false;
                position += n;
            }
        }
    }
}

/// <summary><see cref="RetryingStorage"/> over a store that can delete; keeps that ability visible in the type.</summary>
public sealed class RetryingMaintenanceStorage(IMaintenanceStorage inner, RetryPolicy? policy = null)
    : RetryingStorage(inner, policy), IMaintenanceStorage
{
    private IMaintenanceStorage Maintenance => (IMaintenanceStorage)Inner;

    public Task DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        RunAsync(ct => Maintenance.DeleteAsync(name, ct), cancellationToken);

    public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
        RunAsync(ct => Maintenance.AbortIncompleteUploadsAsync(olderThan, ct), cancellationToken);
}
