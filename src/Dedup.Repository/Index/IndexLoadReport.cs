using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Repository.Trust;

namespace Dedup.Repository.Index;

/// <summary>An index file left out because its signer is not trusted for its domain, and why.</summary>
public sealed record UntrustedIndexFile(string Name, string SignerIdentity, string Reason);

/// <summary>
/// What loading the index read and left out. <see cref="Complete"/> means every index file this key may read was read:
/// prune only treats a pack that no index lists as an orphan when it is (a damaged file might list it).
/// </summary>
public sealed record IndexLoadReport(IReadOnlyList<string> Files, IReadOnlyList<CorruptObjectException> Damaged, IReadOnlyList<UntrustedIndexFile> Untrusted,
    int OtherDomains)
{
    public static IndexLoadReport Empty { get; } = new([], [], [], 0);

    public bool Complete => Damaged.Count == 0;

    /// <summary>Collects a report from parallel readers.</summary>
    public sealed class Builder
    {
        private readonly ConcurrentQueue<string> _files = new();
        private readonly ConcurrentQueue<CorruptObjectException> _damaged = new();
        private readonly ConcurrentQueue<UntrustedIndexFile> _untrusted = new();
        private int _otherDomains;

        public void Read(string name) => _files.Enqueue(name);
        public void Damaged(CorruptObjectException e) => _damaged.Enqueue(e);
        public void Untrusted(string name, Signer signer) => _untrusted.Enqueue(new UntrustedIndexFile(name, signer.Identity, signer.Problem ?? "untrusted signer"));
        public void OtherDomain() => Interlocked.Increment(ref _otherDomains);

        public IndexLoadReport Build() => new(_files.ToArray(), _damaged.ToArray(), _untrusted.ToArray(), _otherDomains);
    }
}
