using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.TextualInversion;

/// <summary>The extended text encoder where the pipeline loads it again: low-memory mode and the clip-skip rewrite.</summary>
public sealed class TextualInversionSessionTests
{
    private const string Prompt = "a photo of a cat in <tiny-style> style";

    private static float[] Cond(StableDiffusionPipeline pipeline, int? clipSkip = null)
    {
        var observer = new RecordingObserver();
        var settings = new GenerationSettings { Steps = 1, Width = 64, Height = 64 };
        if (clipSkip is { } k) settings = settings with { Conditioning = new SdxlConditioning { ClipSkip = k } };
        foreach (var r in pipeline.Generate([new ImageRequest(Prompt, null, 600)], settings, observer)) r.Dispose();
        return observer.Cond;
    }

    [Fact]
    public void LowMemoryModeReloadsTheExtendedEncoder()
    {
        using var pipeline = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions
            { ExecutionProvider = ExecutionProvider.Cpu, Memory = new MemoryOptions { LowMemory = true } });
        pipeline.AddEmbedding(TinyEmbeddingFixture.EmbeddingPath("tiny-style.a1111.safetensors"), TinyEmbeddingFixture.Token);
        var expected = PipelineCase.Load(TinyEmbeddingFixture.ManifestFolder).Single(c => c.Id == "ti_cat_style").F32("text_embeddings_cond");
        Compare.Close(expected, Cond(pipeline), 1e-5, "first prompt");
        Compare.Close(expected, Cond(pipeline), 1e-5, "second prompt (the encoder loaded again)");
    }

    [Fact]
    public void ClipSkipRewritesTheExtendedGraph()
    {
        // The rewritten graph must keep the 49410-row table: the file's 49408 rows would make the Gather of id 49408 fail.
        using var plain = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        using var embedded = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        embedded.AddEmbedding(TinyEmbeddingFixture.EmbeddingPath("tiny-style.a1111.safetensors"), TinyEmbeddingFixture.Token);
        var skipped = Cond(embedded, clipSkip: 1);
        Assert.True(Compare.MaxAbs(Cond(embedded), skipped) > 1e-3); // clip skip took effect
        Assert.True(Compare.MaxAbs(Cond(plain, clipSkip: 1), skipped) > 1e-3); // and the vectors reached it
        // Tokens 0..7 (BOS … "in") come before the embedding's rows: causal attention leaves them as without it.
        Compare.Close(Cond(plain, clipSkip: 1).AsSpan(0, 7 * 32), skipped.AsSpan(0, 7 * 32), 1e-5, "rows before the embedding");
    }
}
