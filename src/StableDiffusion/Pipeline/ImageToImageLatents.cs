using StableDiffusion.Imaging;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Image-to-image start latents (diffusers 0.35 <c>StableDiffusionImg2ImgPipeline.prepare_latents</c>): the init image
/// pre-processed as <c>VaeImageProcessor</c> does, encoded, sampled per image with its generator (drawn before the
/// noise), × scaling_factor, then <c>add_noise(init, noise, timesteps[t_start·order])</c>; no init_noise_sigma. Latents given
/// instead of an image (4 channels, SDXL's refiner hand-off) are used directly; with <c>denoising_start</c> no noise is added.
/// </summary>
public sealed class ImageToImageLatents(Func<int, int, ImageLatents> encoder) : ILatentsStage
{
    public PreparedLatents Prepare(LatentsRequest request, CancellationToken cancellation)
    {
        var settings = request.Settings;
        var shape = request.Shape;
        int b = shape.Batch, n = shape.ImageLength;
        int height = settings.Height!.Value, width = settings.Width!.Value;
        float[] image = [], parameters = [], eps = [], samples = [];
        var init = new float[shape.Length];
        if (settings.InitLatents is { } latents)
        {
            // Latents (the base's hand-off) are used as they are: no VAE encode, no scaling.
            for (int i = 0; i < b; i++) latents.Data.CopyTo(init, i * n);
        }
        else
        {
            image = VaeImageProcessor.PreprocessImage(settings.InitImage!, width, height);
            var vae = encoder(height, width);
            parameters = vae.Encode(image, cancellation); // one image: the same parameters for every row
            eps = new float[shape.Length];
            samples = new float[shape.Length];
            for (int i = 0; i < b; i++)
                vae.Sample(parameters, request.Generators[i], eps.AsSpan(i * n, n), samples.AsSpan(i * n, n), init.AsSpan(i * n, n));
        }

        // SDXL's hand-off (denoising_start) starts below the cut-off and adds no noise; otherwise strength decides.
        var scheduler = request.Scheduler;
        bool handOff = settings.DenoisingStart is not null;
        int begin = handOff
            ? DenoisingRange.ApplyStart(scheduler, settings.DenoisingStart!.Value)
            : StrengthSchedule.Apply(scheduler, settings.Steps, settings.EffectiveStrength!.Value);
        float[] noise = [], start = init;
        if (!handOff)
        {
            noise = LatentNoise.Draw(request.Generators, shape);
            start = new float[shape.Length];
            var t = new double[b];
            Array.Fill(t, scheduler.Timesteps[begin]);
            scheduler.AddNoise(init, noise, t, start);
        }
        request.Observer?.OnLatentsPrepared(new LatentsInfo
        {
            Image = image, VaeParameters = parameters, VaeEps = eps, VaeSamples = samples, ImageLatents = init,
            Noise = noise, StartLatents = start, BeginIndex = begin,
        });
        return new PreparedLatents { Latents = start, BeginIndex = begin };
    }
}
