namespace StableDiffusion.Pipeline;

/// <summary>
/// The VAE decoder returned NaN or ±Inf for finite latents: written out, the image would be black or garbage. In float16
/// this is the known SDXL VAE overflow (its activations exceed 65504; diffusers' force_upcast decodes in float32).
/// </summary>
public sealed class VaeOverflowException : InvalidOperationException
{
    public VaeOverflowException(string precision, long nonFinite, long total)
        : base(Describe(precision, nonFinite, total))
    {
        Precision = precision;
        NonFiniteValues = nonFinite;
    }

    /// <summary>The decoder's precision: "float16" or "float32".</summary>
    public string Precision { get; }

    /// <summary>How many decoded values were NaN or infinite.</summary>
    public long NonFiniteValues { get; }

    private static string Describe(string precision, long nonFinite, long total)
    {
        var what = $"The VAE decoder ({precision}) produced NaN/Inf in {nonFinite} of {total} values, so the image would be black or garbage; nothing was written. ";
        return precision == "float16"
            ? what + "Float16 VAEs overflow this way (the SDXL VAE does: its config sets force_upcast). Swap in a VAE made for float16 — " +
              "Set-SdVae -Path <an ONNX export of madebyollin/sdxl-vae-fp16-fix> — or use the float32 VAE (convert the model again " +
              "without -IncludeVae, or Set-SdVae -Path <the float32 model folder>)."
            : what + "The latents were finite, so the decoder itself overflowed; check that the VAE matches the model (Set-SdVae).";
    }
}
