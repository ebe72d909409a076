using StableDiffusion.Models;

namespace StableDiffusion.Pipeline;

// The tasks: which prepare-latents stage a generation uses, the VAE encoder it needs, and the checks that refuse a bad
// combination before any session runs.
public sealed partial class StableDiffusionPipeline
{
    private VaeEncoder? _vaeEncoder;

    /// <summary>The VAE encoder (image-to-image and inpainting), loaded on first use.</summary>
    public VaeEncoder VaeEncoder => _vaeEncoder ??= LoadVaeEncoder();

    /// <summary>Where the VAE encoder of the VAE in use is, or null when it has none.</summary>
    public string? VaeEncoderPath => Vae is not null ? Vae.EncoderPath : Model.HasVaeEncoder ? Model.VaeEncoderPath : null;

    /// <summary>Whether the UNet is an inpainting UNet (9 channels: latents, mask, masked-image latents).</summary>
    public bool IsInpaintingUNet => UNet.InChannels == InpaintLatents.InpaintingChannels;

    private VaeEncoder LoadVaeEncoder() => VaeEncoder.Load(_sessions, VaeEncoderPath
        ?? throw new InvalidOperationException("This model has no VAE encoder."));

    private ILatentsStage LatentsStage(GenerationSettings settings) =>
        settings.InitImage is null ? new TextToImageLatents()
        : settings.Mask is null ? new ImageToImageLatents(ImageEncoder)
        : new InpaintLatents(ImageEncoder, UNet.InChannels);

    private ImageLatents ImageEncoder(int height, int width) => new(VaeEncoder, ScalingFactor, UNet.OutChannels, height, width);

    /// <summary>A UNet with inputs this pipeline cannot supply is refused at load, naming them.</summary>
    private static void CheckUNetInputs(UNet unet, string path)
    {
        if (unet.ExtraInputs.Count > 0)
            throw new ModelLoadException(ModelLoadError.UnsupportedGraph, path,
                $"The UNet '{path}' takes {string.Join(", ", unet.ExtraInputs.Select(n => $"'{n}'"))} beside sample, timestep and " +
                "encoder_hidden_states; a Stable Diffusion 1.x/2.x pipeline supplies none of them. Is this an SDXL or ControlNet UNet?");
    }

    /// <summary>The checks of a task that need the model (the settings' own are in <see cref="GenerationSettings.Validate"/>).</summary>
    /// <exception cref="ArgumentException">The task cannot run on this model, with the reason and the fix.</exception>
    private void CheckTask(GenerationSettings settings)
    {
        if (settings.InitImage is null)
        {
            if (IsInpaintingUNet)
                throw new ArgumentException(
                    $"'{Model.Name}' is an inpainting model (its UNet takes {UNet.InChannels} channels: latents, mask and masked image): " +
                    "give -InitImage and -Mask, or load a text-to-image model.", nameof(settings.InitImage));
            return;
        }
        if (VaeEncoderPath is null)
            throw new ArgumentException(Vae is not null
                ? $"The VAE in use ('{Vae.Name}', set with Set-SdVae) has no encoder (vae_encoder/model.onnx), which -InitImage needs. Use a VAE export with its encoder, or reload the model without Set-SdVae."
                : $"The model '{Model.Name}' has no VAE encoder ('{Model.VaeEncoderPath}' is missing), which -InitImage needs. Re-export the model with its vae_encoder.",
                nameof(settings.InitImage));
        if (settings.Mask is null && IsInpaintingUNet)
            throw new ArgumentException(
                $"'{Model.Name}' is an inpainting model: give -Mask with -InitImage (white = repaint), or use a text-to-image model for image-to-image.",
                nameof(settings.Mask));
        if (settings.Mask is not null && UNet.InChannels != InpaintLatents.InpaintingChannels && UNet.InChannels != UNet.OutChannels)
            throw new ArgumentException(
                $"The UNet takes {UNet.InChannels} channels: neither an inpainting UNet ({InpaintLatents.InpaintingChannels}) nor a {UNet.OutChannels}-channel one for the legacy inpainting blend.",
                nameof(settings.Mask));
        int multiple = Model.VaeScaleFactor;
        if (settings.Width < multiple || settings.Height < multiple)
            throw new ArgumentException(
                $"The init image ({settings.InitImage.Width}×{settings.InitImage.Height}) is smaller than {multiple}×{multiple} pixels; give -Width and -Height to resize it, or a larger image.",
                nameof(settings.InitImage));
    }
}
