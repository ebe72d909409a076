using Xunit.Abstractions;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>
/// Replays the scheduler half of the diffusers 0.35.2 image-to-image references (expected/img2img-diffusers-0.35):
/// <c>set_begin_index(t_start·order)</c> where the class has it, <c>add_noise(init_latents, noise, timesteps[:1])</c>
/// against <c>start_latents</c>, then from there every iteration's scaled UNet input and <c>step(noise_pred_guided[i])</c>
/// against <c>unet_input_sample</c> and <c>latents_after_step</c>, stochastic steps drawing from the case's generators
/// (<see cref="ImageCaseReplay"/>).
/// </summary>
public class Img2ImgStepReplayTests(ITestOutputHelper output)
{
    private const string Folder = "img2img-diffusers-0.35";

    public static TheoryData<string> CaseIds() => ImageCaseReplay.CaseIds(Folder);

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void StepsFromTheBeginIndexReproduceThePipeline(string caseId)
    {
        var replay = new ImageCaseReplay(Folder, caseId);
        var scheduler = replay.Scheduler;
        var shape = replay.Shape;
        replay.SetBeginIndexLikeThePipeline();

        var latentTimesteps = AddNoiseReference.Doubles(replay.Case.GetProperty("latent_timestep"));
        Assert.Equal(latentTimesteps.Select(t => (float)t), Enumerable.Repeat((float)replay.Timesteps[0], shape.Batch));
        var x = new float[shape.Length];
        scheduler.AddNoise(replay.Read("init_latents"), replay.Noise, Enumerable.Repeat(replay.Timesteps[0], shape.Batch).ToArray(), x);
        double maxStart = TrajectoryAssert.MaxError(replay.Read("start_latents"), x);

        var unetInput = replay.Read("unet_input_sample");
        var guided = replay.Read("noise_pred_guided");
        var after = replay.Read("latents_after_step");
        int n = shape.Length;
        int copies = unetInput.Length / (replay.Timesteps.Length * n); // 2 with classifier-free guidance, else 1
        double maxInput = 0, maxLatent = 0;
        for (int i = 0; i < replay.Timesteps.Length; i++)
        {
            maxInput = Math.Max(maxInput, replay.ScaledInputError(unetInput, i, x, copies));
            scheduler.Step(guided.AsSpan(i * n, n), replay.Timesteps[i], x, shape, replay.Generators, replay.Eta);
            maxLatent = Math.Max(maxLatent, TrajectoryAssert.MaxError(after.AsSpan(i * n, n), x));
        }
        Assert.Equal(replay.ExpectedBeginIndex, scheduler.BeginIndex);

        output.WriteLine($"{caseId}: start latents {maxStart:G3}, max scaled-input error {maxInput:G3}, max latent error {maxLatent:G3}");
        Assert.True(maxStart <= AddNoiseTests.Tolerance, $"{caseId}: add_noise off by {maxStart:G3}.");
        Assert.True(maxInput <= TrajectoryAssert.Tolerance, $"{caseId}: UNet input off by {maxInput:G3}.");
        Assert.True(maxLatent <= TrajectoryAssert.Tolerance, $"{caseId}: latents off by {maxLatent:G3}.");
    }
}
