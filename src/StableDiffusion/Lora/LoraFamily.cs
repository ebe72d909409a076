namespace StableDiffusion.Lora;

/// <summary>The model family a LoRA file was made for, as far as its key names tell.</summary>
public enum LoraFamily
{
    /// <summary>The names do not tell (a UNet-only PEFT file, say).</summary>
    Unknown,

    /// <summary>One text encoder (<c>lora_te_</c>, <c>text_encoder.</c>): SD 1.x / 2.x.</summary>
    SingleTextEncoder,

    /// <summary>Two text encoders (<c>lora_te1_</c>/<c>lora_te2_</c>, <c>text_encoder_2.</c>, sgm block names): SDXL.</summary>
    Sdxl,
}
