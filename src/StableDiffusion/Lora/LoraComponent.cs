namespace StableDiffusion.Lora;

/// <summary>The model part a LoRA module changes (diffusers' component names: unet, text_encoder, text_encoder_2).</summary>
public enum LoraComponent
{
    UNet,
    TextEncoder,
    TextEncoder2,
}
