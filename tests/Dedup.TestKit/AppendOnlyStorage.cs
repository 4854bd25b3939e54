using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Dedup.Storage;

namespace Dedup.TestKit;

/// <summary>
/// What a backup host's credentials allow: create (put), read and list, and nothing that deletes. The type has no
/// DeleteAsync at all, so an attacker given this handle cannot delete even by casting. Counts what was created, by prefix,
/// so a test can check that an attack really stored its objects.
/// </summary>
public sealed class AppendOnlyStorage(IStorage inner) : IStorage
{
    private readonly ConcurrentDictionary<string, int> _created = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _names = new();

    public string Location => inner.Location;

    /// <summary>How many objects this handle created under the prefix ("index/", "data/", …).</summary>
    public int Created(string prefix) => _created.GetValueOrDefault(prefix);

    /// <summary>Every object name this handle created, in order.</summary>
    public IReadOnlyCollection<string> CreatedNames => _names.ToArray();

    public async Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var outcome = await inner.PutAsync(name, data, cancellationToken).ConfigureAwait(false);
        if (outcome == PutOutcome.Created)
        {
            int slash = name.IndexOf('/');
            _created.AddOrUpdate(slash < 0 ? name : name[..(slash + 1)], 1, (_, n) => n + 1);
            _names.Enqueue(name);
        }
        return outcome;
    }

    public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default) =>
        inner.OpenReadAsync(name, offset, length, cancellationToken);

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) => inner.StatAsync(name, cancellationToken);

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var o in inner.ListAsync(prefix, cancellationToken).ConfigureAwait(false)) yield return o;
    }
}
