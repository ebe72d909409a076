using System.Diagnostics;
using StableDiffusion.Models;
using StableDiffusion.Random;
using StableDiffusion.Schedulers;
using StableDiffusion.Tensors;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Stage 3, the scheduler loop of every task: for each timestep from the begin index, scale the latents (doubled when
/// guiding), append the task's extra UNet channels, predict, combine [uncond…, cond…] with the guidance scale (and
/// rescale), step, then the task's after-step blend. The only heavy call is the UNet.
/// </summary>
public sealed class DenoiseStage(UNet unet, int? unetBatchSize)
{
    /// <summary>Time in the UNet and in everything else of the loop, and iterations run, of the last <see cref="Run"/>.</summary>
    public (TimeSpan UNet, TimeSpan Other, int Iterations) Timings { get; private set; }

    /// <summary>Runs the loop from <see cref="PreparedLatents.BeginIndex"/>, stepping <see cref="PreparedLatents.Latents"/> in place.</summary>
    /// <param name="prompt">The text embeddings ([uncond…, cond…] when guiding).</param>
    /// <param name="prepared">The start latents and the task's additions to each step.</param>
    /// <param name="shape">The latents' shape (the batch of images, not the UNet's rows).</param>
    /// <param name="settings">Guidance, rescale, eta and denoising_end of the batch.</param>
    /// <param name="scheduler">The scheduler, its timesteps (and begin index) set.</param>
    /// <param name="generators">One generator per image, for stochastic steps.</param>
    /// <param name="observer">Gets every step, or null.</param>
    /// <param name="cancellation">Stops between and inside UNet calls.</param>
    /// <param name="extras">The UNet's further named inputs, constant for the loop (SDXL's text_embeds and time_ids).</param>
    public void Run(PromptEmbeddings prompt, PreparedLatents prepared, LatentShape shape, GenerationSettings settings,
        IScheduler scheduler, IReadOnlyList<IRandomGenerator> generators, GenerationObserver? observer, CancellationToken cancellation,
        IReadOnlyList<NamedTensor>? extras = null)
    {
        var clock = Stopwatch.StartNew();
        bool guided = prompt.Guided;
        int rows = prompt.Rows;
        var latents = prepared.Latents;
        int plane = shape.Height * shape.Width;
        int extra = prepared.ExtraChannelCount;

        // The scaled latents of every UNet row; with extra channels they are scattered into the wider sample, whose
        // extra channels are written once for the loop.
        var scaled = new float[rows * shape.ImageLength];
        var unetShape = shape with { Batch = rows, Channels = shape.Channels + extra };
        var modelInput = extra == 0 ? scaled : new float[unetShape.Length];
        if (extra > 0)
            for (int r = 0; r < rows; r++)
                prepared.ExtraChannels.AsSpan(r * extra * plane, extra * plane)
                    .CopyTo(modelInput.AsSpan(r * unetShape.ImageLength + shape.ImageLength));
        var modelOutput = new float[rows * shape.ImageLength];
        var guidedNoise = guided ? new float[shape.Length] : modelOutput;
        var all = scheduler.Timesteps;
        int begin = prepared.BeginIndex;
        int count = DenoisingRange.Iterations(scheduler, begin, settings.DenoisingEnd);
        var timesteps = begin == 0 && count == all.Count ? all : all.Skip(begin).Take(count).ToArray();
        TimeSpan unetTime = TimeSpan.Zero;
        // Plain prompts: one conditioning for the loop. A1111 schedules: each distinct conditioning is bound once, on first use.
        var bound = new Dictionary<PromptEmbeddings, ConditionedUNet>(ReferenceEqualityComparer.Instance);
        try
        {
            var runs = Bind(bound, prompt, unetShape, extras);
            for (int iteration = 0; iteration < timesteps.Count; iteration++)
            {
                cancellation.ThrowIfCancellationRequested();
                if (prompt.Schedule is { } schedule) runs = Bind(bound, schedule.At(iteration), unetShape, extras);
                var stepStart = clock.Elapsed;
                double t = timesteps[iteration];
                latents.CopyTo(scaled, 0);
                if (guided) latents.CopyTo(scaled, shape.Length);
                scheduler.ScaleModelInput(scaled, t);
                if (extra > 0)
                    for (int r = 0; r < rows; r++)
                        scaled.AsSpan(r * shape.ImageLength, shape.ImageLength).CopyTo(modelInput.AsSpan(r * unetShape.ImageLength));
                var unetStart = clock.Elapsed;
                try
                {
                    runs.Predict(modelInput, t, modelOutput, cancellation);
                }
                catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException e) when (!cancellation.IsCancellationRequested)
                {
                    throw new InvalidOperationException(
                        $"The UNet failed on a {settings.Width}×{settings.Height} batch of {shape.Batch}: {e.Message.Trim()} " +
                        "If the size is the cause, try multiples of 64; if memory is, a smaller batch.", e);
                }
                unetTime += clock.Elapsed - unetStart;
                if (guided)
                {
                    var cond = modelOutput.AsSpan(shape.Length, shape.Length);
                    Guidance.Combine(modelOutput.AsSpan(0, shape.Length), cond, settings.GuidanceScale, guidedNoise);
                    if (settings.GuidanceRescale > 0) Guidance.Rescale(guidedNoise, cond, shape.Batch, settings.GuidanceRescale);
                }
                scheduler.Step(guidedNoise, t, latents, shape, generators, settings.Eta);
                prepared.Blend?.Apply(iteration, timesteps, scheduler, latents);
                observer?.OnStep(new StepInfo
                {
                    Iteration = iteration,
                    Iterations = timesteps.Count,
                    Timestep = t,
                    Elapsed = clock.Elapsed - stepStart,
                    UNetInput = modelInput,
                    UNetOutput = modelOutput,
                    GuidedNoise = guidedNoise.AsSpan(0, shape.Length),
                    Latents = latents,
                });
            }
        }
        finally
        {
            foreach (var run in bound.Values) run.Dispose();
        }
        Timings = (unetTime, clock.Elapsed - unetTime, timesteps.Count);
    }

    private ConditionedUNet Bind(Dictionary<PromptEmbeddings, ConditionedUNet> bound, PromptEmbeddings conditioning,
        LatentShape unetShape, IReadOnlyList<NamedTensor>? extras)
    {
        if (!bound.TryGetValue(conditioning, out var run))
        {
            run = ConditionedUNet.Start(unet, conditioning, unetShape, unetBatchSize, extras);
            bound[conditioning] = run;
        }
        return run;
    }
}
