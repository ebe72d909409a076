using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Pipeline;
using StableDiffusion.Tests.Support;
using StableDiffusion.TextualInversion;

namespace StableDiffusion.Tests.TextualInversion;

/// <summary>
/// diffusers 0.35's textual-inversion pipeline cases on tiny-sd (ti_cat_style, ti_twice_neg with intermediates) and their
/// baselines without the embedding: text embeddings atol 1e-5, final latents 1e-3, images 1e-4 and ≤ 1 PNG level.
/// </summary>
public sealed class TextualInversionPipelineTests(TinyEmbeddingFixture fixture) : IClassFixture<TinyEmbeddingFixture>
{
    private static PipelineCase Case(string id) => PipelineCase.Load(TinyEmbeddingFixture.ManifestFolder).Single(c => c.Id == id);

    [Theory]
    [InlineData("ti_cat_style")]
    [InlineData("ti_twice_neg")]
    [InlineData("ti_cat_style_baseline")]
    [InlineData("ti_twice_neg_baseline")]
    public void MatchesDiffusers(string id)
    {
        var c = Case(id);
        var pipeline = id.EndsWith("_baseline", StringComparison.Ordinal) ? fixture.Plain : fixture.Embedded;
        var observer = new RecordingObserver();
        var results = pipeline.Generate(c.Requests, c.Settings, observer);
        try
        {
            Compare.Close(c.F32("text_embeddings_cond"), observer.Cond, 1e-5, $"{id} text embeddings (cond)");
            Compare.Close(c.F32("text_embeddings_uncond"), observer.Uncond, 1e-5, $"{id} text embeddings (uncond)");
            Assert.Equal(c.F32("initial_noise"), observer.InitialNoise);
            if (c.HasFile("latents_after_step"))
                LoopAssert.LatentsAfterEachStep(c.F32("latents_after_step"), observer.Latents, id);
            Compare.Close(c.F32("final_latents"), observer.Latents[^1], 1e-3, $"{id} final latents", rtol: 1e-4);
            Compare.Close(c.F32("image"), results[0].Pixels, 1e-4, $"{id} image");
            Compare.Png(c.PngPath(0), results[0].Image, 1, $"{id} PNG");
        }
        finally { foreach (var r in results) r.Dispose(); }
    }

    [Fact]
    public void TheEmbeddingChangesTheTextEmbeddings()
    {
        // The case and its baseline differ where the new token's vectors reach the encoder's output: a session that
        // ignored the extended table would give the baseline's values.
        var withEmbedding = Case("ti_cat_style").F32("text_embeddings_cond");
        var baseline = Case("ti_cat_style_baseline").F32("text_embeddings_cond");
        Assert.True(Compare.MaxAbs(withEmbedding, baseline) > 1e-2);
        var observer = new RecordingObserver();
        foreach (var r in fixture.Embedded.Generate([new ImageRequest("a photo of a cat in <tiny-style> style", null, 600)],
            new GenerationSettings { Steps = 1, Width = 64, Height = 64 }, observer)) r.Dispose();
        Compare.Close(withEmbedding, observer.Cond, 1e-5, "cond with the embedding");
    }

    [Fact]
    public void TheEmbeddingIsListedWithItsTokens()
    {
        var e = Assert.Single(fixture.Embedded.Embeddings);
        Assert.Equal(TinyEmbeddingFixture.Token, e.Token);
        Assert.Equal(["<tiny-style>", "<tiny-style>_1"], fixture.Embedded.Tokenizer.AddedTokens);
    }

    [Fact]
    public void AnExistingTokenIsRefusedAndNothingIsAdded()
    {
        var pipeline = fixture.Embedded;
        var path = TinyEmbeddingFixture.EmbeddingPath("tiny-style.diffusers.safetensors");
        var again = Assert.Throws<TextualInversionException>(() => pipeline.AddEmbedding(path)); // its own token, '<tiny-style>'
        Assert.Equal(("EmbeddingTokenExists", TextualInversionProblem.TokenConflict), (again.ErrorId, again.Problem));
        Assert.Equal("<tiny-style>", again.Target);
        var word = Assert.Throws<TextualInversionException>(() => pipeline.AddEmbedding(path, "cat</w>"));
        Assert.Equal("EmbeddingTokenExists", word.ErrorId);
        var twice = Assert.Throws<TextualInversionException>(() => pipeline.AddEmbeddings([(path, "<a>"), (path, "<a>")]));
        Assert.Equal("EmbeddingTokenExists", twice.ErrorId);
        Assert.Single(pipeline.Embeddings);
        Assert.Equal(49410, pipeline.Tokenizer.VocabularySize);
    }

    [Fact]
    public void AVectorOfAnotherWidthIsRefused()
    {
        var path = Lora.SafetensorsBuilder.WriteTemp(Lora.SafetensorsBuilder.Build([Lora.SafetensorsBuilder.F32("emb_params", [1, 4], 1f, 2f, 3f, 4f)]));
        var e = Assert.Throws<TextualInversionException>(() => fixture.Plain.AddEmbedding(path, "<w>"));
        Assert.Equal("EmbeddingDimensionMismatch", e.ErrorId);
        Assert.Contains("32", e.Message);
        Assert.Empty(fixture.Plain.Embeddings);
    }
}
