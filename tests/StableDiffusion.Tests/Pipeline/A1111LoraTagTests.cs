using StableDiffusion.Lora;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Prompts;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>
/// <c>&lt;lora:name:w&gt;</c> in A1111 prompts: the tag's LoRA (found in the pipeline's LoRA folders) gives the image of the
/// same LoRA applied explicitly, only for that generation, on top of the explicit set; bad tags are refused before any work.
/// The prompt is lora-diffusers-0.35's lora_a_scale1 (a plain text: under NoNorm emphasis A1111 encodes it as diffusers does).
/// </summary>
public sealed class A1111LoraTagTests
{
    private const string LoraA = "tiny_lora_a.kohya.fp32";
    private const string LoraB = "tiny_lora_b.kohya.fp32";

    private static readonly string LoraFolder = Path.Combine(Fixtures.Root, "tiny-sd-lora");

    private static PipelineCase Case() => PipelineCase.Load("lora-diffusers-0.35").Single(c => c.Id == "lora_a_scale1");

    private static StableDiffusionPipeline Load()
    {
        var pipeline = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        pipeline.LoraLibrary = new LoraLibrary([LoraFolder]);
        return pipeline;
    }

    private static GenerationSettings A1111(PipelineCase c) =>
        c.Settings with { PromptSyntax = PromptSyntax.A1111, A1111 = new A1111Options { Emphasis = EmphasisMode.NoNorm } };

    private static IReadOnlyList<ImageRequest> WithPrompts(PipelineCase c, params string[] prompts) =>
        prompts.Select((p, i) => c.Requests[0] with { Prompt = p, Index = i }).ToList();

    private static float[][] Images(StableDiffusionPipeline pipeline, IReadOnlyList<ImageRequest> batch, GenerationSettings settings)
    {
        var results = pipeline.Generate(batch, settings);
        try { return results.Select(r => r.Pixels.ToArray()).ToArray(); }
        finally { foreach (var r in results) r.Dispose(); }
    }

    private static LoraEntry Entry(string name, float weight) => LoraEntry.Load(Path.Combine(LoraFolder, name + ".safetensors"), weight);

    [Fact]
    public void ATagGivesTheImageOfTheExplicitLoraAndIsUndoneAfterwards()
    {
        var c = Case();
        string prompt = c.Requests[0].Prompt;
        using var pipeline = Load();
        var tagged = Images(pipeline, WithPrompts(c, $"{prompt} <lora:{LoraA}:1>"), A1111(c))[0];
        Assert.Empty(pipeline.Loras);

        pipeline.SetLoras([Entry(LoraA, 1f)]);
        var explicitLora = Images(pipeline, WithPrompts(c, prompt), A1111(c))[0];
        Assert.Equal(explicitLora, tagged);
        Compare.Close(c.F32("image"), tagged, 1e-4, "tagged image vs diffusers' lora_a_scale1");
    }

    [Fact]
    public void ExplicitLorasStayAndTheTagIsAddedOnTop()
    {
        var c = Case();
        string prompt = c.Requests[0].Prompt;
        using var pipeline = Load();
        pipeline.SetLoras([Entry(LoraB, 0.8f)]);
        var tagged = Images(pipeline, WithPrompts(c, $"<lora:{LoraA}> {prompt}"), A1111(c))[0];
        Assert.Equal([LoraB], pipeline.Loras.Select(l => l.Name));

        pipeline.SetLoras([Entry(LoraB, 0.8f), Entry(LoraA, 1f)]);
        Assert.Equal(Images(pipeline, WithPrompts(c, prompt), A1111(c))[0], tagged);
    }

    [Fact]
    public void OnlyTheFirstPromptOfABatchActivatesItsTags()
    {
        // A1111's parse_prompts keeps the first prompt's extra-network data: the second image gets LoRA a, not b.
        var c = Case();
        string prompt = c.Requests[0].Prompt;
        using var pipeline = Load();
        var batch = Images(pipeline, WithPrompts(c, $"{prompt}<lora:{LoraA}:1>", $"{prompt}<lora:{LoraB}:1>"), A1111(c));

        pipeline.SetLoras([Entry(LoraA, 1f)]);
        var explicitA = Images(pipeline, WithPrompts(c, prompt, prompt), A1111(c));
        Assert.Equal(explicitA[1], batch[1]);
    }

    [Fact]
    public void AnUnknownNameIsRefusedBeforeAnyWorkListingTheFolders()
    {
        var c = Case();
        using var pipeline = Load();
        var observer = new RecordingObserver();
        var e = Assert.Throws<InvalidSettingException>(() =>
            pipeline.Generate(WithPrompts(c, "a fox <lora:no_such_lora:1>"), A1111(c), observer));
        Assert.Equal("PromptLoraNotFound", e.ErrorId);
        Assert.Equal("no_such_lora", e.Value);
        Assert.Contains(Path.GetFullPath(LoraFolder), e.Message);
        Assert.Empty(observer.Cond); // no prompt was encoded
    }

    [Fact]
    public void ABadWeightIsRefusedBeforeAnyWork()
    {
        var c = Case();
        using var pipeline = Load();
        var e = Assert.Throws<PromptSyntaxException>(() => pipeline.Generate(WithPrompts(c, $"a fox <lora:{LoraA}:abc>"), A1111(c)));
        Assert.Equal("abc", e.Fragment);
    }

    [Fact]
    public void ATagAlreadyAppliedExplicitlyIsRefused()
    {
        var c = Case();
        using var pipeline = Load();
        pipeline.SetLoras([Entry(LoraA, 1f)]);
        var e = Assert.Throws<InvalidSettingException>(() => pipeline.Generate(WithPrompts(c, $"a fox <lora:{LoraA}:0.5>"), A1111(c)));
        Assert.Equal("PromptLoraAlreadyApplied", e.ErrorId);
    }

    [Fact]
    public void AFailedGenerationLeavesTheSetAsItWas()
    {
        var c = Case();
        using var pipeline = Load();
        pipeline.SetLoras([Entry(LoraB, 0.8f)]);
        Assert.Throws<InvalidOperationException>(() =>
            pipeline.Generate(WithPrompts(c, $"a fox <lora:{LoraA}>"), A1111(c), new FailingObserver()));
        Assert.Equal([(LoraB, 0.8f)], pipeline.Loras.Select(l => (l.Name, l.Weight)));
    }

    [Fact]
    public void UnderPlainSyntaxATagIsJustText()
    {
        var c = Case();
        using var pipeline = Load();
        var observer = new RecordingObserver();
        var results = pipeline.Generate(WithPrompts(c, "a fox <lora:no_such_lora:abc>") , c.Settings with { Steps = 1 }, observer);
        foreach (var r in results) r.Dispose();
        Assert.NotEmpty(observer.Cond);
        Assert.Empty(pipeline.Loras);
    }

    /// <summary>Fails the run once the prompt is encoded (with the tag's LoRA applied).</summary>
    private sealed class FailingObserver : GenerationObserver
    {
        public override void OnPromptEncoded(PromptEmbeddings prompt, IReadOnlyList<NamedTensor> unetInputs) =>
            throw new InvalidOperationException("stop");
    }
}

/// <summary>Textual inversion under A1111 syntax: a multi-vector embedding (A1111 gives it a position per vector) is refused by name.</summary>
public sealed class A1111EmbeddingRefusalTests
{
    [Theory]
    [InlineData("a tinystyle fox", null, "Prompt")]
    [InlineData("a fox", "tinystyle, blurry", "NegativePrompt")]
    public void AMultiVectorEmbeddingIsRefusedBeforeAnyWork(string prompt, string? negative, string setting)
    {
        using var pipeline = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        pipeline.AddEmbedding(Path.Combine(Fixtures.Root, "tiny-sd-lora", "tiny-style.a1111.safetensors"), "tinystyle"); // 2 vectors
        var c = PipelineCase.Load("lora-diffusers-0.35").Single(x => x.Id == "no_lora");
        var observer = new RecordingObserver();
        var e = Assert.Throws<InvalidSettingException>(() => pipeline.Generate([c.Requests[0] with { Prompt = prompt, NegativePrompt = negative }],
            c.Settings with { PromptSyntax = PromptSyntax.A1111 }, observer));
        Assert.Equal("A1111MultiVectorEmbeddingUnsupported", e.ErrorId);
        Assert.Equal("tinystyle", e.Value);
        Assert.Equal(setting, e.ParamName);
        Assert.Empty(observer.Cond);
    }
}
