namespace StableDiffusion.Pipeline;

/// <summary>Text-to-image start latents: each image's noise from its own generator × <c>init_noise_sigma</c>.</summary>
public sealed class TextToImageLatents : ILatentsStage
{
    public PreparedLatents Prepare(LatentsRequest request, CancellationToken cancellation)
    {
        var shape = request.Shape;
        var latents = LatentNoise.Draw(request.Generators, shape);
        request.Observer?.OnLatentsPrepared(new LatentsInfo { Noise = latents, BeginIndex = 0 });
        float sigma = request.Scheduler.InitNoiseSigma;
        if (sigma != 1f)
            for (int i = 0; i < latents.Length; i++) latents[i] *= sigma;
        return new PreparedLatents { Latents = latents };
    }
}
