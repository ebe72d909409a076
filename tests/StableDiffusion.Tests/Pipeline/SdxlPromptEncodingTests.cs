using System.Text.Json;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;
using StableDiffusion.Text;
using Xunit.Abstractions;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>
/// <see cref="SdxlPromptEncodingStage"/> against every diffusers 0.35.2 SDXL reference run that records prompt
/// embeddings (tiny-sdxl and tiny-sdxl-refiner, both stages of the ensemble): the ids each encoder received (exact),
/// prompt_embeds and pooled_prompt_embeds, cond and uncond (README: atol 1e-5). The call's arguments, guidance and
/// force_zeros_for_empty_prompt are read from the manifest.
/// </summary>
public sealed class SdxlPromptEncodingTests(ITestOutputHelper output)
{
    private static readonly string[] FixtureNames = ["tiny-sdxl", "tiny-sdxl-refiner"];

    private static IReadOnlyList<PipelineCase> Manifest(string fixture) =>
        PipelineCase.LoadFolder(Path.Combine(Fixtures.Root, fixture, "expected", "pipeline-diffusers-0.35"));

    /// <summary>(fixture, case id or "case/stage") for each run whose prompt embeddings were stored.</summary>
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var fixture in FixtureNames)
            foreach (var c in Manifest(fixture))
            {
                if (!c.Raw.TryGetProperty("stages", out var stages))
                {
                    if (c.HasFile("prompt_embeds_cond")) data.Add(fixture, c.Id);
                    continue;
                }
                foreach (var stage in stages.EnumerateArray())
                {
                    string name = stage.GetProperty("name").GetString()!;
                    if (c.HasFile($"{name}_prompt_embeds_cond")) data.Add(fixture, $"{c.Id}/{name}");
                }
            }
        return data;
    }

    [Fact]
    public void EveryRecordedRunIsCovered() => Assert.Equal(19 + 1 + 2, Cases().Count);

    [Theory]
    [MemberData(nameof(Cases))]
    public void TokensAndEmbeddingsEqualDiffusers(string fixture, string key)
    {
        var run = Run.Find(fixture, key);
        var requests = run.Requests();
        using var encoders = new Encoders(run.ModelFolder);
        var stage = encoders.Stage(run.ForceZeros, run.ClipSkip);

        AssertIds(run, stage.Tokenize(requests, run.Guided), requests.Count);

        var embeddings = stage.Encode(requests, run.Guided, CancellationToken.None);
        Assert.Equal(requests.Count, embeddings.Images);
        Assert.Equal(run.Guided, embeddings.Guided);
        Assert.Equal(77, embeddings.SequenceLength);
        Assert.Equal(run.Shape("prompt_embeds_cond")[^1], embeddings.HiddenSize);
        Assert.Equal(run.Shape("pooled_prompt_embeds_cond")[^1], embeddings.PooledSize);
        Check(run, "prompt_embeds_cond", embeddings.Cond);
        Check(run, "pooled_prompt_embeds_cond", embeddings.PooledCond);
        if (!run.Guided) return;
        Check(run, "prompt_embeds_uncond", embeddings.Uncond);
        Check(run, "pooled_prompt_embeds_uncond", embeddings.PooledUncond);
    }

    [Fact]
    public void ImagesPerPromptRepeatEachPromptsRowsConsecutively()
    {
        // diffusers' num_images_per_prompt = 2 on batch2_genlist: rows [p0, p0, p1, p1] (README step 2), from the recorded rows.
        var run = Run.Find("tiny-sdxl", "batch2_genlist");
        var requests = run.Requests();
        var doubled = requests.SelectMany(r => new[] { r, r with { Index = r.Index + 1 } }).ToArray();
        using var encoders = new Encoders(run.ModelFolder);
        var embeddings = encoders.Stage(run.ForceZeros, 0).Encode(doubled, guided: true, CancellationToken.None);

        Check(run, "prompt_embeds_cond", embeddings.Cond, repeat: 2);
        Check(run, "pooled_prompt_embeds_cond", embeddings.PooledCond, repeat: 2);
        Check(run, "prompt_embeds_uncond", embeddings.Uncond, repeat: 2);
        Check(run, "pooled_prompt_embeds_uncond", embeddings.PooledUncond, repeat: 2);
    }

    [Fact]
    public void TheRefinerIgnoresTheSecondPrompts()
    {
        // Its one encoder is zipped with [prompt, prompt_2]: prompt_2 / negative_prompt_2 never reach it.
        var run = Run.Find("tiny-sdxl-refiner", "refiner_img2img");
        var requests = run.Requests().Select(r => r with { Prompt2 = "a dog", NegativePrompt2 = "blurry" }).ToArray();
        using var encoders = new Encoders(run.ModelFolder);
        var stage = encoders.Stage(run.ForceZeros, 0);
        AssertIds(run, stage.Tokenize(requests, run.Guided), requests.Length);
        var embeddings = stage.Encode(requests, run.Guided, CancellationToken.None);
        Check(run, "prompt_embeds_cond", embeddings.Cond);
        Check(run, "prompt_embeds_uncond", embeddings.Uncond);
    }

    [Fact]
    public void AClipSkipBeyondTheEncodersDepthIsRefused()
    {
        using var encoders = new Encoders(Path.Combine(Fixtures.Root, "tiny-sdxl"));
        // text_encoder has 3 layers: hidden_states[-(2 + 2)] = hidden_states.0 exists, [-(3 + 2)] does not.
        Assert.NotNull(encoders.Stage(true, 2).Encode([new ImageRequest("a cat", null, 0)], guided: false, CancellationToken.None));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            encoders.Stage(true, 3).Encode([new ImageRequest("a cat", null, 0)], guided: false, CancellationToken.None));
        Assert.Throws<ArgumentOutOfRangeException>(() => encoders.Stage(true, -1));
    }

    private static void AssertIds(Run run, SdxlPromptTokens tokens, int images)
    {
        var recorded = run.Element.GetProperty("input_ids");
        Assert.Equal(recorded.TryGetProperty("tokenizer", out _), tokens.First is not null);
        foreach (var (name, rows) in new[] { ("tokenizer", tokens.First), ("tokenizer_2", tokens.Second) })
        {
            if (rows is null) continue;
            var ids = recorded.GetProperty(name);
            Assert.Equal(run.Guided ? 2 * images : images, rows.Length);
            int condStart = run.Guided ? images : 0;
            AssertRows(ids.GetProperty("cond"), rows[condStart..], $"{run} {name} cond");
            if (!run.Guided) continue;
            if (ids.TryGetProperty("uncond", out var uncond))
                AssertRows(uncond, rows[..condStart], $"{run} {name} uncond");
            else // zeroed: nothing was tokenized for the negative rows
                Assert.All(rows[..condStart], r => Assert.Null(r));
        }
    }

    private static void AssertRows(JsonElement expected, PromptTokens?[] rows, string what)
    {
        var expectedRows = expected.EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray();
        Assert.True(expectedRows.Length == rows.Length, $"{what}: {rows.Length} rows, expected {expectedRows.Length}");
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.NotNull(rows[i]);
            Assert.Equal(expectedRows[i], rows[i]!.Ids);
        }
    }

    /// <summary>Compares with the recorded file (each recorded row <paramref name="repeat"/> times) and reports the largest difference.</summary>
    private void Check(Run run, string file, ReadOnlySpan<float> actual, int repeat = 1)
    {
        var recorded = run.F32(file);
        var expected = recorded;
        if (repeat > 1)
        {
            int rowLength = recorded.Length / run.Shape(file)[0];
            expected = recorded.Chunk(rowLength).SelectMany(row => Enumerable.Repeat(row, repeat).SelectMany(x => x)).ToArray();
        }
        Compare.Close(expected, actual, 1e-5, $"{run} {file}");
        output.WriteLine($"{run} {file}: max |diff| {Compare.MaxAbs(expected, actual):E2}");
    }

    /// <summary>One recorded pipeline call: a case, or one stage of the ensemble case (files prefixed with the stage name).</summary>
    private sealed record Run(PipelineCase Case, JsonElement Element, string Prefix)
    {
        public static Run Find(string fixture, string key)
        {
            string[] parts = key.Split('/');
            var c = Manifest(fixture).Single(x => x.Id == parts[0]);
            return parts.Length == 1
                ? new Run(c, c.Raw, "")
                : new Run(c, c.Raw.GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("name").GetString() == parts[1]), parts[1] + "_");
        }

        public string ModelFolder => Path.Combine(Fixtures.Root, Element.GetProperty("model").GetString()!);
        public bool Guided => Element.GetProperty("classifier_free_guidance").GetBoolean();
        public bool ForceZeros => Element.GetProperty("force_zeros_for_empty_prompt").GetBoolean();
        private JsonElement Args => Element.GetProperty("args");
        public int ClipSkip => Args.TryGetProperty("clip_skip", out var k) && k.ValueKind == JsonValueKind.Number ? k.GetInt32() : 0;

        public float[] F32(string file) => Case.F32(Prefix + file);

        public int[] Shape(string file) =>
            Case.Raw.GetProperty("files").GetProperty(Prefix + file).GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        /// <summary>One request per image as diffusers expands the call: a string applies to every prompt; num_images_per_prompt repeats consecutively.</summary>
        public IReadOnlyList<ImageRequest> Requests()
        {
            string[] prompts = Strings("prompt")!;
            int perPrompt = Args.TryGetProperty("num_images_per_prompt", out var n) && n.ValueKind == JsonValueKind.Number ? n.GetInt32() : 1;
            string[]? prompts2 = Strings("prompt_2"), negatives = Strings("negative_prompt"), negatives2 = Strings("negative_prompt_2");
            var requests = new List<ImageRequest>();
            for (int p = 0; p < prompts.Length; p++)
                for (int k = 0; k < perPrompt; k++)
                    requests.Add(new ImageRequest(prompts[p], Pick(negatives, p), 0, requests.Count)
                    {
                        Prompt2 = Pick(prompts2, p),
                        NegativePrompt2 = Pick(negatives2, p),
                    });
            return requests;
        }

        private static string? Pick(string[]? values, int prompt) => values is null ? null : values[values.Length == 1 ? 0 : prompt];

        private string[]? Strings(string arg) =>
            !Args.TryGetProperty(arg, out var e) || e.ValueKind == JsonValueKind.Null ? null
            : e.ValueKind == JsonValueKind.String ? [e.GetString()!]
            : e.EnumerateArray().Select(x => x.GetString()!).ToArray();

        public override string ToString() => Case.Id + (Prefix.Length == 0 ? "" : "/" + Prefix.TrimEnd('_'));
    }

    /// <summary>A model folder's tokenizers and text encoders (the first pair absent when model_index.json lists it as [null, null]).</summary>
    private sealed class Encoders : IDisposable
    {
        private readonly string _folder;
        private readonly List<TextEncoder> _loaded = [];
        private readonly bool _hasFirst;

        public Encoders(string folder)
        {
            _folder = folder;
            using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "model_index.json")));
            _hasFirst = index.RootElement.GetProperty("text_encoder")[0].ValueKind != JsonValueKind.Null;
        }

        public SdxlPromptEncodingStage Stage(bool forceZeros, int clipSkip) => new(
            _hasFirst ? ClipTokenizer.FromDirectory(Path.Combine(_folder, "tokenizer")) : null,
            _hasFirst ? () => Load("text_encoder") : null,
            ClipTokenizer.FromDirectory(Path.Combine(_folder, "tokenizer_2")),
            () => Load("text_encoder_2"),
            forceZeros, clipSkip);

        private TextEncoder Load(string component)
        {
            string path = Path.Combine(_folder, component, "model.onnx");
            var encoder = new TextEncoder(new SessionFactory(ExecutionProvider.Cpu).Create(path, component), path);
            _loaded.Add(encoder);
            return encoder;
        }

        public void Dispose()
        {
            foreach (var encoder in _loaded) encoder.Dispose();
        }
    }
}
