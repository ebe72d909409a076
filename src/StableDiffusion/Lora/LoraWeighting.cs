namespace StableDiffusion.Lora;

/// <summary>A LoRA with its multiplier (diffusers' adapter weight / lora_scale, A1111's <c>&lt;lora:name:m&gt;</c>).</summary>
public sealed record LoraWeighting(LoraFile Lora, float Weight);
