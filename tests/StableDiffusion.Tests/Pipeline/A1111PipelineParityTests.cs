using System.Text.Json;
using StableDiffusion.Pipeline;
using StableDiffusion.Prompts;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>
/// Whole-pipeline references driven by A1111 v1.10.1 conditioning (expected/prompts-a1111/pipeline): the conditioning of
/// each side and each iteration, the latents after every iteration (atol 1e-3), the image (atol 1e-4) and the PNG (≤ 1 level).
/// </summary>
public sealed class A1111PipelineParityTests(A1111PipelineFixture fixture) : IClassFixture<A1111PipelineFixture>
{
    private const string Manifest = "prompts-a1111/pipeline";

    public static TheoryData<string> Cases() => PipelineCase.Ids(Manifest);

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesA1111(string id)
    {
        var c = PipelineCase.Load(Manifest).Single(x => x.Id == id);
        var a1111 = c.Raw.GetProperty("a1111");
        var settings = new GenerationSettings
        {
            Steps = c.Steps,
            GuidanceScale = c.GuidanceScale,
            Width = c.Width,
            Height = c.Height,
            Scheduler = new SchedulerChoice(c.SchedulerClass, c.SchedulerOverrides),
            PromptSyntax = PromptSyntax.A1111,
            A1111 = new A1111Options
            {
                Emphasis = a1111.GetProperty("emphasis").GetString() switch
                {
                    "Original" => EmphasisMode.Original,
                    "No norm" => EmphasisMode.NoNorm,
                    var other => throw new InvalidOperationException($"{id}: emphasis '{other}' has no mapping in this test."),
                },
                PadCondUncond = a1111.GetProperty("cond_uncond_length_equalisation").GetString() switch
                {
                    "pad_cond_uncond" => true,
                    "none" => false,
                    var other => throw new InvalidOperationException($"{id}: equalisation '{other}' has no mapping in this test."),
                },
            },
            // A1111's "Clip skip" counts the layers used from the end; diffusers' clip_skip those skipped.
            Conditioning = a1111.GetProperty("CLIP_stop_at_last_layers").GetInt32() is var stop and > 1
                ? new SdxlConditioning { ClipSkip = stop - 1 } : SdxlConditioning.None,
        };
        Assert.Equal(c.Steps, a1111.GetProperty("steps_for_schedules").GetInt32());

        var observer = new RecordingObserver();
        var pipeline = fixture.For(a1111.GetProperty("text_encoder").GetString()!);
        var results = pipeline.Generate(c.Requests, settings, observer);
        try
        {
            Compare.Close(c.F32("text_embeddings_cond"), observer.Cond, 1e-5, $"{id} cond (step 0)");
            Compare.Close(c.F32("text_embeddings_uncond"), observer.Uncond, 1e-5, $"{id} uncond");
            CheckEachIterationsConditioning(observer.Prompt!, a1111, id);
            Assert.Equal(c.F32("initial_noise"), observer.InitialNoise);
            LoopAssert.LatentsAfterEachStep(c.F32("latents_after_step"), observer.Latents, id);
            Compare.Close(c.F32("image"), results[0].Pixels, 1e-4, $"{id} image");
            Compare.Png(c.PngPath(0), results[0].Image, 1, $"{id} PNG");
        }
        finally
        {
            foreach (var r in results) r.Dispose();
        }
    }

    /// <summary>The sums of the [uncond, cond] states fed to the UNet at each iteration, and each distinct one built once.</summary>
    private static void CheckEachIterationsConditioning(PromptEmbeddings prompt, JsonElement a1111, string id)
    {
        var sums = a1111.GetProperty("encoder_hidden_states_sum_f64_by_iteration").EnumerateArray()
            .Select(s => s.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var schedule = prompt.Schedule ?? throw new Xunit.Sdk.XunitException($"{id}: an A1111 prompt gave no conditioning schedule.");
        var distinct = new HashSet<PromptEmbeddings>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < sums.Length; i++)
        {
            var at = schedule.At(i);
            distinct.Add(at);
            double uncond = at.Uncond.ToArray().Sum(v => (double)v), cond = at.Cond.ToArray().Sum(v => (double)v);
            // Sums of up to 231×32 values each within 1e-5: a few 1e-3 apart at most.
            Assert.True(Math.Abs(uncond - sums[i][0]) < 5e-3 && Math.Abs(cond - sums[i][1]) < 5e-3,
                $"{id} iteration {i}: sums {uncond:R}, {cond:R}; expected {sums[i][0]:R}, {sums[i][1]:R}");
        }
        int expectedDistinct = sums.Select(s => (s[0], s[1])).Distinct().Count();
        Assert.Equal(expectedDistinct, distinct.Count);
    }
}
