using StableDiffusion.Conversion;
using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Pipeline;

/// <summary>
/// The float32 decoder a float16 VAE falls back on when it overflows (diffusers' force_upcast, <c>vae.to(torch.float32)</c>):
/// the same graph widened to float32 — its float16 weights, float32 computation. Built only when an overflow happens and
/// released after that decode, so it costs nothing otherwise and is never resident next to the float16 VAE for long.
/// </summary>
public sealed class Float32VaeFallback(SessionFactory sessions, string decoderPath)
{
    public (float[] Pixels, int Height, int Width) Decode(float[] latents, LatentShape shape, CancellationToken cancellation)
    {
        var graph = OnnxGraphFile.Load(decoderPath);
        Float32Widener.Widen(graph);
        using var decoder = new VaeDecoder(sessions.Create(graph, "vae_decoder"), decoderPath);
        var pixels = decoder.Decode(latents, shape, out int height, out int width, cancellation);
        return (pixels, height, width);
    }
}
