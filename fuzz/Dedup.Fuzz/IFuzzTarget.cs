namespace Dedup.Fuzz;

/// <summary>
/// One parser of stored bytes under fuzzing. <see cref="Run"/> feeds it hostile input and may let only
/// <see cref="Dedup.Format.CorruptObjectException"/> be caught; any other exception escapes and is a bug.
/// </summary>
public interface IFuzzTarget
{
    /// <summary>The corpus folder name and the command-line name, e.g. "tree".</summary>
    string Name { get; }

    void Run(ReadOnlySpan<byte> data);

    /// <summary>Valid inputs to start from, made with the writers (and <see cref="FuzzKeys"/>).</summary>
    IEnumerable<byte[]> Seeds();
}

/// <summary>Every target, found by reflection as dotnet/runtime's DotnetFuzzing does, so a new one cannot be forgotten.</summary>
public static class FuzzTargets
{
    public static IReadOnlyList<IFuzzTarget> All { get; } = typeof(IFuzzTarget).Assembly.GetTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IFuzzTarget).IsAssignableFrom(t))
        .Select(t => (IFuzzTarget)Activator.CreateInstance(t)!)
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToArray();

    public static IFuzzTarget Get(string name) => All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"No fuzz target '{name}'. Targets: {string.Join(", ", All.Select(t => t.Name))}");
}
