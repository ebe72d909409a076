using System.Diagnostics;
using System.Globalization;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Prompts;

/// <summary>
/// The cost of A1111 prompt encoding (--a1111 true): a ~300-token A1111 prompt (emphasis weights and a
/// BREAK, so tokenize + chunk into 75-token chunks + encode each chunk + emphasis) against a 77-token Plain prompt, both
/// guided (prompt and ""), on the tiny fixture and, when it is there, ~/.cache/sd-refenv/sd15-random's text encoder
/// (a full-size SD 1.5 CLIP with random weights; never in CI). Medians of --runs after a warm-up.
/// Results: bench/results/a1111-prompts-cpu.md.
/// </summary>
internal static class A1111PromptBench
{
    public static void Run(Args options)
    {
        int runs = int.Parse(options.Get("runs", "21"), CultureInfo.InvariantCulture);
        var threads = options.Get("threads", "") is { Length: > 0 } t ? int.Parse(t, CultureInfo.InvariantCulture) : (int?)null;
        var models = new List<string> { Path.GetFullPath(options.Get("model", Path.Combine(Args.RepoRoot(), "..", "shared", "fixtures", "tiny-sd"))) };
        string full = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "sd-refenv", "sd15-random");
        if (options.Get("model", "") == "" && File.Exists(Path.Combine(full, "model_index.json"))) models.Add(full);

        Console.WriteLine($"{runs} runs per row (median, min), threads {threads?.ToString(CultureInfo.InvariantCulture) ?? "default"}, {Environment.ProcessorCount} logical CPUs.");
        Console.WriteLine();
        Console.WriteLine("| model | prompt | tokens | chunks | median ms | min ms |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        foreach (var model in models) Bench(model, runs, threads);
    }

    private static void Bench(string model, int runs, int? threads)
    {
        using var pipeline = StableDiffusionPipeline.Load(model, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, IntraOpThreads = threads });
        string plain = PlainPrompt(pipeline);
        string a1111 = A1111Prompt(pipeline);
        var plainStage = new PromptEncodingStage(pipeline.Tokenizer, () => pipeline.TextEncoder);
        var a1111Stage = new A1111PromptEncodingStage(pipeline.Tokenizer, () => pipeline.TextEncoder, 20, A1111Options.Default);
        int plainTokens = pipeline.Tokenizer.EncodeUntruncated(plain).Length + 2;
        var chunked = new A1111Chunker(pipeline.Tokenizer).TokenizeLine(a1111);
        Row(model, "Plain", plainTokens, 1, Time(plainStage, plain, runs));
        Row(model, "A1111 (emphasis, BREAK)", chunked.TokenCount, chunked.Chunks.Count, Time(a1111Stage, a1111, runs));
    }

    private static List<double> Time(IPromptEncodingStage stage, string prompt, int runs)
    {
        ImageRequest[] batch = [new(prompt, null, 1, 0)];
        stage.Encode(batch, guided: true, CancellationToken.None); // warm-up: session creation and first run
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var c = Stopwatch.StartNew();
            stage.Encode(batch, guided: true, CancellationToken.None);
            times.Add(c.Elapsed.TotalMilliseconds);
        }
        return times;
    }

    private static readonly string[] Words =
        ["watercolor", "painting", "of", "a", "fox", "in", "the", "snow", "under", "pine", "trees", "soft", "light", "misty", "morning", "detailed", "fur"];

    /// <summary>Words up to 75 tokens: with BOS and EOS the full 77-token window, one encoder run.</summary>
    private static string PlainPrompt(StableDiffusionPipeline pipeline)
    {
        var words = new List<string>();
        for (int i = 0; pipeline.Tokenizer.EncodeUntruncated(string.Join(' ', words.Append(Words[i % Words.Length]))).Length <= 75; i++)
            words.Add(Words[i % Words.Length]);
        return string.Join(' ', words);
    }

    /// <summary>About 300 tokens of A1111 prompt: every fifth word weighted, one BREAK (no schedule: one conditioning, as Plain).</summary>
    private static string A1111Prompt(StableDiffusionPipeline pipeline)
    {
        var parts = new List<string>();
        var chunker = new A1111Chunker(pipeline.Tokenizer);
        for (int i = 0; chunker.TokenizeLine(string.Join(' ', parts)).TokenCount < 300; i++)
        {
            string w = Words[i % Words.Length];
            parts.Add(i % 5 == 0 ? $"({w}:1.2)" : w);
            if (i == 120) parts.Add("BREAK");
        }
        return string.Join(' ', parts);
    }

    private static void Row(string model, string what, int tokens, int chunks, List<double> values)
    {
        var sorted = values.Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {Path.GetFileName(model)} | {what} | {tokens} | {chunks} | {sorted[sorted.Count / 2]:F2} | {sorted[0]:F2} |"));
    }
}
