using Xunit.Abstractions;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>
/// Replays the scheduler half of the diffusers 0.35.2 inpainting references with a 4-channel UNet
/// (expected/inpaint-diffusers-0.35, cases inp4_*), the loop that re-noises the original latents after every step:
/// the start latents (noise·init_noise_sigma at strength 1, else add_noise at the first timestep after
/// set_begin_index), then per iteration the scaled UNet input, <c>step()</c> against <c>latents_step_output</c> and
/// <c>add_noise(image_latents, noise, timesteps[i+1])</c> — which the sigma-space classes take at their step index —
/// against <c>blend_init_latents_noised</c>. Each iteration continues from the recorded blended latents, so the mask
/// arithmetic (not the scheduler's) stays out of it.
/// </summary>
public class InpaintStepReplayTests(ITestOutputHelper output)
{
    private const string Folder = "inpaint-diffusers-0.35";

    public static TheoryData<string> CaseIds() =>
        ImageCaseReplay.CaseIds(Folder, c => c.GetProperty("unet_in_channels").GetInt32() == 4);

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void ReNoisingAfterEachStepReproducesThePipeline(string caseId)
    {
        var replay = new ImageCaseReplay(Folder, caseId);
        var scheduler = replay.Scheduler;
        var shape = replay.Shape;
        int n = shape.Length;
        replay.SetBeginIndexLikeThePipeline();

        var imageLatents = replay.Read("image_latents");
        var x = new float[n];
        if (replay.Case.GetProperty("is_strength_max").GetBoolean())
            for (int i = 0; i < n; i++) x[i] = replay.Noise[i] * scheduler.InitNoiseSigma;
        else
            scheduler.AddNoise(imageLatents, replay.Noise, Enumerable.Repeat(replay.Timesteps[0], shape.Batch).ToArray(), x);
        double maxStart = TrajectoryAssert.MaxError(replay.Read("start_latents"), x);

        var calls = replay.Case.GetProperty("add_noise_calls").EnumerateArray().Where(e => e.GetProperty("iteration_before").GetInt32() >= 0).ToArray();
        var unetInput = replay.Read("unet_input_sample");
        var guided = replay.Read("noise_pred_guided");
        var stepOutput = replay.Read("latents_step_output");
        var noised = replay.Read("blend_init_latents_noised");
        var after = replay.Read("latents_after_step");
        int iterations = replay.Timesteps.Length;
        int copies = unetInput.Length / (iterations * n);
        Assert.Equal(iterations - 1, calls.Length);
        double maxInput = 0, maxStep = 0, maxNoised = 0;
        var blend = new float[n];
        for (int i = 0; i < iterations; i++)
        {
            maxInput = Math.Max(maxInput, replay.ScaledInputError(unetInput, i, x, copies));
            scheduler.Step(guided.AsSpan(i * n, n), replay.Timesteps[i], x, shape, replay.Generators, replay.Eta);
            maxStep = Math.Max(maxStep, TrajectoryAssert.MaxError(stepOutput.AsSpan(i * n, n), x));
            if (i + 1 < iterations)
            {
                var call = calls[i];
                Assert.Equal(i, call.GetProperty("iteration_before").GetInt32());
                Assert.Equal((float)replay.Timesteps[i + 1], Assert.Single(AddNoiseReference.Floats(call.GetProperty("timesteps"))));
                var stepIndex = call.GetProperty("step_index");
                Assert.Equal(stepIndex.ValueKind == System.Text.Json.JsonValueKind.Null ? null : stepIndex.GetInt32(), scheduler.StepIndex);
                scheduler.AddNoise(imageLatents, replay.Noise, [replay.Timesteps[i + 1]], blend);
                maxNoised = Math.Max(maxNoised, TrajectoryAssert.MaxError(noised.AsSpan(i * n, n), blend));
            }
            after.AsSpan(i * n, n).CopyTo(x);
        }
        Assert.Equal(replay.ExpectedBeginIndex, scheduler.BeginIndex);

        output.WriteLine($"{caseId}: start {maxStart:G3}, scaled input {maxInput:G3}, step {maxStep:G3}, re-noised {maxNoised:G3}");
        Assert.True(maxStart <= AddNoiseTests.Tolerance, $"{caseId}: start latents off by {maxStart:G3}.");
        Assert.True(maxNoised <= AddNoiseTests.Tolerance, $"{caseId}: add_noise after a step off by {maxNoised:G3}.");
        Assert.True(maxInput <= TrajectoryAssert.Tolerance, $"{caseId}: UNet input off by {maxInput:G3}.");
        Assert.True(maxStep <= TrajectoryAssert.Tolerance, $"{caseId}: step off by {maxStep:G3}.");
    }
}
