using StableDiffusion.Random;
using StableDiffusion.Schedulers;
using StableDiffusion.Tests.Support;
using System.Text.Json;
using Xunit.Abstractions;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>
/// Replays the scheduler half of the diffusers 0.35.2 pipeline references (expected/pipeline-diffusers-0.35): starting
/// from the recorded initial latents, each iteration's scaled UNet input is compared with <c>unet_input_sample</c> and
/// <c>step(noise_pred_guided[i])</c> with <c>latents_after_step[i]</c>. The pipeline's generator (used first for the
/// initial noise, then by step()) is reproduced with <see cref="TorchGenerator"/>. This covers options the scheduler
/// manifests lack: zero-terminal-SNR + trailing + v-prediction DDIM, Euler a with the 0.35 grid, LCM with guidance 1, batches.
/// </summary>
public class PipelineStepReplayTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("pndm20_default")]
    [InlineData("pndm50")]
    [InlineData("nocfg_gs1")]
    [InlineData("batch4_pndm20")]
    [InlineData("euler20")]
    [InlineData("eulerancestral20")]
    [InlineData("lcm4_gs1")]
    [InlineData("ddim_zerosnr_vpred_rescale20")]
    public void StepsReproducePipelineLatents(string caseId)
    {
        using var manifest = Fixtures.ReadJson("pipeline-diffusers-0.35", "manifest.json");
        var (c, scheduler) = ScheduledCase(manifest, caseId);
        double eta = c.GetProperty("eta").GetDouble();

        var files = c.GetProperty("files");
        float[] Read(string name) => Fixtures.ReadF32(Fixtures.ExpectedPath("pipeline-diffusers-0.35", files.GetProperty(name).GetProperty("file").GetString()!));
        int[] shape = files.GetProperty("initial_latents").GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var latentShape = new LatentShape(shape[0], shape[1], shape[2], shape[3]);

        // The pipeline's generators: one per image (a list) or one for the batch; the initial noise comes first.
        var seeds = c.GetProperty("seed").ValueKind == JsonValueKind.Array
            ? c.GetProperty("seed").EnumerateArray().Select(e => e.GetUInt64()).ToArray()
            : [c.GetProperty("seed").GetUInt64()];
        var generators = seeds.Select(s => (IRandomGenerator)new TorchGenerator(s)).ToList();
        var noise = new float[latentShape.Length];
        NoiseSampler.Fill(noise, latentShape, generators, "initial noise");
        Assert.Equal(Read("initial_noise"), noise);

        var x = Read("initial_latents");
        var unetInput = Read("unet_input_sample");
        var guided = Read("noise_pred_guided");
        var after = Read("latents_after_step");
        int n = latentShape.Length;
        int iterations = scheduler.Timesteps.Count;
        int copies = unetInput.Length / (iterations * n); // 2 with classifier-free guidance, else 1
        Assert.Equal(iterations * n, after.Length);

        double maxInput = 0, maxLatent = 0;
        var modelInput = new float[copies * n];
        for (int i = 0; i < iterations; i++)
        {
            double t = scheduler.Timesteps[i];
            for (int k = 0; k < copies; k++) x.CopyTo(modelInput, k * n);
            scheduler.ScaleModelInput(modelInput, t);
            maxInput = Math.Max(maxInput, TrajectoryAssert.MaxError(unetInput.AsSpan(i * copies * n, copies * n), modelInput));
            scheduler.Step(guided.AsSpan(i * n, n), t, x, latentShape, generators, eta);
            maxLatent = Math.Max(maxLatent, TrajectoryAssert.MaxError(after.AsSpan(i * n, n), x));
        }
        output.WriteLine($"{caseId}: max scaled-input error {maxInput:G3}, max latent error {maxLatent:G3}");
        Assert.True(maxInput <= TrajectoryAssert.Tolerance, $"{caseId}: UNet input off by {maxInput:G3}.");
        Assert.True(maxLatent <= TrajectoryAssert.Tolerance, $"{caseId}: latents off by {maxLatent:G3}.");
    }

    /// <summary>Cases without per-iteration files: the schedule (timesteps, sigmas, init_noise_sigma) must be exact.</summary>
    [Theory]
    [InlineData("euler_vpred20")]
    [InlineData("eulera_trailing20")]
    public void ScheduleMatchesPipelineCase(string caseId)
    {
        using var manifest = Fixtures.ReadJson("pipeline-diffusers-0.35", "manifest.json");
        var (c, scheduler) = ScheduledCase(manifest, caseId);
        Assert.Equal(c.GetProperty("scheduler").GetProperty("sigmas").EnumerateArray().Select(e => (float)e.GetDouble()), scheduler.Sigmas!);
    }

    /// <summary>
    /// A manifest case and its scheduler, built from the recorded class and config with the case's step count set; the
    /// timesteps (in float32) and init_noise_sigma must equal the recorded ones.
    /// </summary>
    private static (JsonElement Case, IScheduler Scheduler) ScheduledCase(JsonDocument manifest, string caseId)
    {
        var c = manifest.RootElement.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("id").GetString() == caseId);
        var sched = c.GetProperty("scheduler");
        var scheduler = SchedulerRegistry.Create(sched.GetProperty("class").GetString()!, SchedulerConfig.Parse(sched.GetProperty("config").GetRawText()));
        scheduler.SetTimesteps(c.GetProperty("num_inference_steps").GetInt32());
        Assert.Equal(sched.GetProperty("timesteps").EnumerateArray().Select(e => (float)e.GetDouble()), scheduler.Timesteps.Select(t => (float)t));
        Assert.Equal((float)sched.GetProperty("init_noise_sigma").GetDouble(), scheduler.InitNoiseSigma);
        return (c, scheduler);
    }
}
