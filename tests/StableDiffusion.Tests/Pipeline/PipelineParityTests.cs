using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>
/// Whole-pipeline parity with diffusers on the fixture model: every case of expected/pipeline-diffusers-0.35 (the default
/// target) and of expected/pipeline (diffusers 0.12, legacy). Tolerances from the fixture README: text embeddings atol 1e-5,
/// initial noise exact, latents after each step atol 1e-3 (+ rtol 1e-4 for the large Euler-type magnitudes), image atol 1e-4,
/// PNG within 1 level; float16-IO graphs: image atol 3e-3 (see <see cref="Float16ImageAtol"/>).
/// </summary>
public sealed class PipelineParityTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    public const string Current = "pipeline-diffusers-0.35";
    public const string Legacy = "pipeline";

    public static TheoryData<string> CurrentCases() => PipelineCase.Ids(Current);
    public static TheoryData<string> LegacyCases() => PipelineCase.Ids(Legacy);

    [Fact]
    public void ManifestsHoldTheExpectedCases()
    {
        Assert.Equal(14, PipelineCase.Load(Current).Count);
        Assert.Equal(7, PipelineCase.Load(Legacy).Count);
    }

    [Theory]
    [MemberData(nameof(CurrentCases))]
    public void MatchesDiffusers035(string id) => Check(fixture.Fp32, Find(Current, id), legacy: false, imageAtol: 1e-4, intermediates: true);

    [Theory]
    [MemberData(nameof(LegacyCases))]
    public void MatchesDiffusers012WithLegacyOptions(string id) => Check(fixture.Fp32, Find(Legacy, id), legacy: true, imageAtol: 1e-4, intermediates: true);

    /// <summary>
    /// The float16-IO graphs round every network output to float16, so a 1e-6 difference between two correct ONNX
    /// Runtime executions of the same graph (the dynamic-shape session and a fixed-shape one fuse a few Reshape/Add
    /// chains differently) flips single float16 roundings (one ulp is ~1e-3 near 1), and 20 Euler v-prediction steps
    /// carry such a flip to the image. The README suggests "~2e-3"; measured here: fixed shapes ≤ 2e-3 on every case,
    /// the dynamic session 2.63e-3 on one element of euler_vpred20. Both configurations are held to the same bound
    /// (and to the README's PNG ≤ 1 level).
    /// </summary>
    private const double Float16ImageAtol = 3e-3;

    [Theory]
    [MemberData(nameof(CurrentCases))]
    public void Float16GraphsMatchDiffusers035(string id) => Check(fixture.Fp16Io, Find(Current, id), legacy: false, imageAtol: Float16ImageAtol, intermediates: false);

    [Theory]
    [MemberData(nameof(CurrentCases))]
    public void Float16GraphsOnFixedShapesMatchDiffusers035(string id) =>
        Check(fixture.Fp16IoFixedShapes, Find(Current, id), legacy: false, imageAtol: Float16ImageAtol, intermediates: false);

    private static PipelineCase Find(string manifest, string id) => PipelineCase.Load(manifest).Single(c => c.Id == id);

    /// <summary>
    /// Options that make the current algorithms reproduce diffusers 0.12 (fixture README, "0.35.2 vs 0.12.0"): DPM-Solver's
    /// last step went to sigma_min rather than to zero. Everything else 0.12 did is within the tolerances of 0.35's arithmetic.
    /// </summary>
    private static Dictionary<string, object?> LegacyOverrides(string schedulerClass) => schedulerClass switch
    {
        "DPMSolverMultistepScheduler" or "DPMSolverSinglestepScheduler" => new() { ["final_sigmas_type"] = "sigma_min" },
        _ => [],
    };

    private static void Check(StableDiffusionPipeline pipeline, PipelineCase c, bool legacy, double imageAtol, bool intermediates)
    {
        var overrides = legacy ? LegacyOverrides(c.SchedulerClass) : c.SchedulerOverrides;
        var settings = new GenerationSettings
        {
            Steps = c.Steps,
            GuidanceScale = c.GuidanceScale,
            GuidanceRescale = c.GuidanceRescale,
            Eta = c.Eta,
            Width = c.Width,
            Height = c.Height,
            Scheduler = new SchedulerChoice(c.SchedulerClass, overrides),
        };
        var observer = new RecordingObserver();
        var results = pipeline.Generate(c.Requests, settings, observer);
        try
        {
            Assert.Equal(c.Requests.Count, results.Count);
            if (intermediates)
            {
                Compare.Close(c.F32("text_embeddings_cond"), observer.Cond, 1e-5, $"{c.Id} text embeddings (cond)");
                if (c.GuidanceScale > 1)
                    Compare.Close(c.F32("text_embeddings_uncond"), observer.Uncond, 1e-5, $"{c.Id} text embeddings (uncond)");
                else
                    Assert.Empty(observer.Uncond);
                Assert.Equal(c.F32("initial_noise"), observer.InitialNoise); // bit-exact torch noise
                if (c.HasFile("unet_input_timestep"))
                {
                    // 0.35 timesteps are exact; 0.12 built Euler-type grids in float64 (README: ≤ 2 ulp apart).
                    var expectedT = c.F64("unet_input_timestep");
                    Assert.Equal(expectedT.Length, observer.Timesteps.Count);
                    for (int i = 0; i < expectedT.Length; i++)
                        Assert.True(legacy ? Math.Abs(expectedT[i] - observer.Timesteps[i]) <= 1e-3 : (float)expectedT[i] == (float)observer.Timesteps[i],
                            $"{c.Id} timestep {i}: {observer.Timesteps[i]:R}, expected {expectedT[i]:R}");
                }
                if (c.HasFile("latents_after_step"))
                    LoopAssert.LatentsAfterEachStep(c.F32("latents_after_step"), observer.Latents, c.Id);
                Compare.Close(c.F32("final_latents"), observer.Latents[^1], 1e-3, $"{c.Id} final latents", rtol: 1e-4);
            }
            var image = c.F32("image");
            int perImage = image.Length / results.Count;
            for (int i = 0; i < results.Count; i++)
            {
                Compare.Close(image.AsSpan(i * perImage, perImage), results[i].Pixels, imageAtol, $"{c.Id} image {i}");
                Compare.Png(c.PngPath(i), results[i].Image, 1, $"{c.Id} PNG {i}");
            }
        }
        finally
        {
            foreach (var r in results) r.Dispose();
        }
    }
}
