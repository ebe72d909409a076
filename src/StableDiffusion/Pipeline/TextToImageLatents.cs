namespace StableDiffusion.Pipeline;

/// <summary>Text-to-image start latents: each image's noise from its own generator × <c>init_noise_sigma</c>.</summary>
public sealed class TextToImageLatents : ILatentsStage
{
    public PreparedLatents Prepare(LatentsRequest request, CancellationToken cancellation)
    {
        var shape = request.Shape;
        var noise = LatentNoise.Draw(request.Generators, shape);
        float sigma = request.Scheduler.InitNoiseSigma;
        var latents = noise;
        if (sigma != 1f)
        {
            latents = new float[noise.Length];
            for (int i = 0; i < latents.Length; i++) latents[i] = noise[i] * sigma;
        }
        request.Observer?.OnLatentsPrepared(new LatentsInfo { Noise = noise, StartLatents = latents, BeginIndex = 0 });
        return new PreparedLatents { Latents = latents };
    }
}
