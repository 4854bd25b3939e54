using Dedup.Fuzz;

// dedup-fuzz <target>                    run under AFL (afl-fuzz … -- dedup-fuzz <target>), see fuzz/README.md
// dedup-fuzz libfuzzer <target>          run under libFuzzer-dotnet
// dedup-fuzz replay <target> <dir|file>  run every file once; exit 1 on the first unexpected exception
// dedup-fuzz seed <corpus-dir>           write the generated seed corpus (valid inputs and mutations)
// dedup-fuzz smoke <target> <count>      in-process random mutation of the seeds (no AFL needed); exit 1 on a bug
// dedup-fuzz make-restore-fixture <zip> write the fixed repository of the "restore" target
// dedup-fuzz list                        print the target names
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: dedup-fuzz <target> | libfuzzer <target> | replay <target> <path> | seed <dir> | list");
    return 2;
}
switch (args[0])
{
    case "make-restore-fixture" when args.Length == 2:
        await RestoreFixture.WriteAsync(args[1]);
        Console.WriteLine($"wrote {args[1]}; rebuild, then reseed the restore corpus: dedup-fuzz seed fuzz/corpus");
        return 0;
    case "list":
        foreach (var t in FuzzTargets.All) Console.WriteLine(t.Name);
        return 0;
    case "seed" when args.Length == 2:
        foreach (var (name, count) in Corpus.WriteSeeds(args[1])) Console.WriteLine($"{name}: {count} files");
        return 0;
    case "replay" when args.Length == 3:
        var target = FuzzTargets.Get(args[1]);
        var files = Directory.Exists(args[2]) ? Directory.GetFiles(args[2]) : [args[2]];
        foreach (var f in files)
            if (!RunsCleanly(target, File.ReadAllBytes(f), f)) return 1;
        Console.WriteLine($"{target.Name}: {files.Length} inputs replayed, no unexpected exception");
        return 0;
    case "smoke" when args.Length == 3:
        var st = FuzzTargets.Get(args[1]);
        var seeds = st.Seeds().ToArray();
        var rng = new Random(42);
        for (int i = 0; i < int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture); i++)
        {
            var input = Corpus.RandomMutation(seeds[rng.Next(seeds.Length)], rng);
            if (!RunsCleanly(st, input, $"{st.Name}: input {Convert.ToHexString(input)}")) return 1;
        }
        Console.WriteLine($"{st.Name}: {args[2]} mutations, no unexpected exception");
        return 0;
    case "libfuzzer" when args.Length == 2:
        var lf = FuzzTargets.Get(args[1]);
        SharpFuzz.Fuzzer.LibFuzzer.Run(span => lf.Run(span));
        return 0;
    default:
        var afl = FuzzTargets.Get(args[0]);
        SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
        {
            using var ms = new MemoryStream();
            stream.CopyTo(ms);
            afl.Run(ms.GetBuffer().AsSpan(0, (int)ms.Length));
        });
        return 0;
}

/// <summary>Runs one input; an exception escaping the target is a bug, printed with what produced it.</summary>
static bool RunsCleanly(IFuzzTarget target, byte[] input, string label)
{
    try
    {
        target.Run(input);
        return true;
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"{label}: {e}");
        return false;
    }
}
