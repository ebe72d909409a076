namespace StableDiffusion.Pipeline;

/// <summary>
/// What a prepare-latents stage hands the denoiser: the start latents, where in the schedule to start, and what the
/// task adds to each UNet call or step (the inpainting UNet's extra channels, the 4-channel inpainting blend).
/// </summary>
public sealed class PreparedLatents
{
    /// <summary>The start latents [B, 4, h, w]; the denoiser steps them in place.</summary>
    public required float[] Latents { get; init; }

    /// <summary>Index into the scheduler's timesteps of the first iteration (img2img: t_start × order; else 0).</summary>
    public int BeginIndex { get; init; }

    /// <summary>
    /// Channels appended to the scaled latents of every UNet row ([rows, <see cref="ExtraChannelCount"/>, h, w], rows as the
    /// UNet batch: doubled for guidance), constant for the loop: the mask and masked-image latents of a 9-channel UNet.
    /// </summary>
    public float[]? ExtraChannels { get; init; }

    public int ExtraChannelCount { get; init; }

    /// <summary>The 4-channel inpainting blend applied after every step, or null.</summary>
    public InpaintBlend? Blend { get; init; }

    /// <summary>The crop of <c>padding_mask_crop</c>, whose result is pasted back onto the init image after decoding.</summary>
    public MaskCropOverlay? Overlay { get; init; }
}
