using System.Security.Cryptography;

namespace Dedup.Storage;

/// <summary>What a probe found one capability to be: allowed, refused by the store, or not tried (an earlier step made it moot).</summary>
public enum Capability
{
    Allowed,
    Denied,
    NotTried,
}

/// <summary>
/// What the credentials in use can really do, found by trying it on a canary object (issue 12, "Credentials,
/// checked"). <see cref="OverwriteTookEffect"/> is the dangerous one: the store accepted a second put of the same name
/// with other bytes (it ignores the create-only condition — Ceph RGW on versioned buckets does), so a writer could
/// replace an object. Readers detect that (names are hashes) and a versioned bucket keeps the old version, but only an
/// enforcing store or a bucket policy prevents it.
/// </summary>
public sealed record CredentialReport(
    string Canary,
    Capability Put,
    Capability List,
    Capability Read,
    Capability Overwrite,
    bool? OverwriteTookEffect,
    Capability Delete)
{
    public bool CanDelete => Delete == Capability.Allowed;
}

/// <summary>
/// Tries, on one canary object, what the credentials allow: create, list, read, overwrite (a second create-only put
/// with other bytes) and delete. The canary lives under a prefix every role may write (the caller names it); readers
/// of that prefix ignore what they cannot open, and the admin's maintenance removes what it finds there later, so a
/// canary that these credentials cannot delete costs nothing. The probe never touches any other object.
/// </summary>
public static class CredentialProbe
{
    public static async Task<CredentialReport> RunAsync(IStorage storage, string prefix, CancellationToken ct = default)
    {
        var first = RandomNumberGenerator.GetBytes(48);
        var second = RandomNumberGenerator.GetBytes(48);
        // The canary's name is the SHA-256 of its first content, like every object of the repository.
        var name = prefix + Convert.ToHexStringLower(SHA256.HashData(first));

        var put = await TryAsync(() => storage.PutAsync(name, first, ct)).ConfigureAwait(false);
        if (put != Capability.Allowed)
            return new CredentialReport(name, put, await TryListAsync(storage, prefix, null, ct).ConfigureAwait(false), Capability.NotTried,
                Capability.NotTried, null, Capability.NotTried);

        var list = await TryListAsync(storage, prefix, name, ct).ConfigureAwait(false);
        var read = await TryAsync(() => ReadAsync(storage, name, ct)).ConfigureAwait(false);

        Capability overwrite;
        bool? tookEffect = null;
        try
        {
            var outcome = await storage.PutAsync(name, second, ct).ConfigureAwait(false);
            overwrite = outcome == PutOutcome.Created ? Capability.Allowed : Capability.Denied;
            if (overwrite == Capability.Allowed && read == Capability.Allowed)
                tookEffect = (await ReadAsync(storage, name, ct).ConfigureAwait(false)).AsSpan().SequenceEqual(second);
            else if (overwrite == Capability.Denied) tookEffect = false;
        }
        catch (StorageAccessDeniedException)
        {
            overwrite = Capability.Denied;
            tookEffect = false;
        }

        var delete = Capability.NotTried;
        if (storage is IMaintenanceStorage deleting)
            delete = await TryAsync(async () =>
            {
                await deleting.DeleteAsync(name, ct).ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
        return new CredentialReport(name, Capability.Allowed, list, read, overwrite, tookEffect, delete);
    }

    private static async Task<Capability> TryAsync<T>(Func<Task<T>> action)
    {
        try
        {
            await action().ConfigureAwait(false);
            return Capability.Allowed;
        }
        catch (StorageAccessDeniedException)
        {
            return Capability.Denied;
        }
    }

    /// <summary>Allowed when the listing works (and, when <paramref name="expect"/> is given, shows it).</summary>
    private static async Task<Capability> TryListAsync(IStorage storage, string prefix, string? expect, CancellationToken ct)
    {
        try
        {
            await foreach (var obj in storage.ListAsync(prefix, ct).ConfigureAwait(false))
                if (expect is null || obj.Name == expect) return Capability.Allowed;
            return expect is null ? Capability.Allowed : Capability.Denied;
        }
        catch (StorageAccessDeniedException)
        {
            return Capability.Denied;
        }
    }

    private static async Task<byte[]> ReadAsync(IStorage storage, string name, CancellationToken ct)
    {
        await using var s = await storage.OpenReadAsync(name, 0, 4096, ct).ConfigureAwait(false);
        using var copy = new MemoryStream();
        await s.CopyToAsync(copy, ct).ConfigureAwait(false);
        return copy.ToArray();
    }
}
