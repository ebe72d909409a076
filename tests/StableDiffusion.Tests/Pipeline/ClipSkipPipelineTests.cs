using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>
/// ClipSkip on the SD 1.x fixture, as diffusers' <c>encode_prompt(clip_skip=k)</c>: the prompt rows are
/// <c>final_layer_norm(hidden_states[-(k + 1)])</c>, the negative rows last_hidden_state. References: A1111's hidden states
/// of the same token ids (expected/prompts-a1111/clip_chunks; A1111's CLIP skip 2 = diffusers' clip_skip 1), atol 1e-5.
/// </summary>
public sealed class ClipSkipPipelineTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private static string Chunks(params string[] parts) => Fixtures.ExpectedPath(["prompts-a1111", "clip_chunks", .. parts]);

    [Fact]
    public void ThePromptRowsSkipALayerAndTheNegativeRowsDoNot()
    {
        const string cat = "a photo of a cat"; // the cases 'short' and 'empty' hold these texts' ids and hidden states
        var pipeline = fixture.Fp32;
        foreach (var (text, id) in new[] { (cat, "short"), ("", "empty") })
            Assert.Equal(Fixtures.ReadI64(Chunks(id, "tokens.i64")).Select(v => (int)v), pipeline.Tokenizer.Encode(text).Ids.ToArray());

        // The prompts and negative prompts swap between the two images, so each row must take its own kind of embedding.
        ImageRequest[] batch = [new(cat, null, 0), new("", cat, 1)];
        var observer = new RecordingObserver();
        var results = pipeline.Generate(batch, new GenerationSettings { Steps = 2, Width = 64, Height = 64, Conditioning = new SdxlConditioning { ClipSkip = 1 } }, observer);
        try
        {
            Assert.Equal(2, results.Count);
            float[] Hidden(string id, int skip) => Fixtures.ReadF32(Chunks(id, "tiny", $"hidden_skip{skip}.f32"));
            Compare.Close([.. Hidden("short", 2), .. Hidden("empty", 2)], observer.Cond, 1e-5, "cond: final_layer_norm(hidden_states[-2])");
            Compare.Close([.. Hidden("empty", 1), .. Hidden("short", 1)], observer.Uncond, 1e-5, "uncond: last_hidden_state");
        }
        finally { foreach (var r in results) r.Dispose(); }
    }

    [Fact]
    public void WithoutGuidanceEveryRowIsAPromptRow()
    {
        var observer = new RecordingObserver();
        var results = fixture.Fp32.Generate([new("a photo of a cat", null, 0)],
            new GenerationSettings { Steps = 1, Width = 64, Height = 64, GuidanceScale = 1, Conditioning = new SdxlConditioning { ClipSkip = 1 } }, observer);
        foreach (var r in results) r.Dispose();
        Assert.Empty(observer.Uncond);
        Compare.Close(Fixtures.ReadF32(Chunks("short", "tiny", "hidden_skip2.f32")), observer.Cond, 1e-5, "cond without guidance");
    }

    [Fact]
    public void AClipSkipBeyondTheEncodersLayersIsRefused()
    {
        // The tiny encoder has 3 layers: clip_skip 3 reads hidden_states[0] (the embeddings), 4 has nothing to read.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Fp32.Generate([new("a cat", null, 0)],
            new GenerationSettings { Steps = 1, Width = 64, Height = 64, Conditioning = new SdxlConditioning { ClipSkip = 4 } }));
        Assert.Contains("3", e.Message);
    }
}
