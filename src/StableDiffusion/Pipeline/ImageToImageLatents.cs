using StableDiffusion.Imaging;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Image-to-image start latents (diffusers 0.35 <c>StableDiffusionImg2ImgPipeline.prepare_latents</c>): the init image
/// pre-processed as <c>VaeImageProcessor</c> does, encoded, sampled per image with its generator (drawn before the
/// noise), × scaling_factor, then <c>add_noise(init, noise, timesteps[t_start·order])</c>; no init_noise_sigma.
/// </summary>
public sealed class ImageToImageLatents(Func<int, int, ImageLatents> encoder) : ILatentsStage
{
    public PreparedLatents Prepare(LatentsRequest request, CancellationToken cancellation)
    {
        var settings = request.Settings;
        var shape = request.Shape;
        int b = shape.Batch, n = shape.ImageLength;
        int height = settings.Height!.Value, width = settings.Width!.Value;
        var image = VaeImageProcessor.PreprocessImage(settings.InitImage!, width, height);
        var vae = encoder(height, width);
        var parameters = vae.Encode(image, cancellation); // one image: the same parameters for every row

        var eps = new float[shape.Length];
        var samples = new float[shape.Length];
        var init = new float[shape.Length];
        for (int i = 0; i < b; i++)
            vae.Sample(parameters, request.Generators[i], eps.AsSpan(i * n, n), samples.AsSpan(i * n, n), init.AsSpan(i * n, n));
        var noise = LatentNoise.Draw(request.Generators, shape);

        var scheduler = request.Scheduler;
        int begin = StrengthSchedule.Apply(scheduler, settings.Steps, settings.EffectiveStrength!.Value);
        var start = new float[shape.Length];
        var t = new double[b];
        Array.Fill(t, scheduler.Timesteps[begin]);
        scheduler.AddNoise(init, noise, t, start);
        request.Observer?.OnLatentsPrepared(new LatentsInfo
        {
            Image = image, VaeParameters = parameters, VaeEps = eps, VaeSamples = samples, ImageLatents = init,
            Noise = noise, StartLatents = start, BeginIndex = begin,
        });
        return new PreparedLatents { Latents = start, BeginIndex = begin };
    }
}
