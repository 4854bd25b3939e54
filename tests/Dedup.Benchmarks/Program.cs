using BenchmarkDotNet.Running;
using Dedup.Benchmarks;

// Modes:
//   dotnet run -c Release --project tests/Dedup.Benchmarks -- --filter '*Seal*'      BenchmarkDotNet (any of its options)
//   dotnet run -c Release --project tests/Dedup.Benchmarks -- index-memory [blobs]   IndexTable bytes/blob and load time (default 10M)
//   dotnet run -c Release --project tests/Dedup.Benchmarks -- prune-scale make DIR [blobs] | prune-scale plan DIR | prune-scale check DIR | prune-scale run DIR   prune and check at scale
if (args.Length > 0 && args[0] == "index-memory")
{
    int blobs = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000_000;
    IndexMemory.Run(blobs);
    return;
}

if (args.Length > 0 && args[0] == "prune-scale")
{
    await PruneScale.RunAsync(args);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(ChunkerBenchmarks).Assembly).Run(args);
