using System.Text.Json;

namespace StableDiffusion.Lora;

/// <summary>
/// The alphas a diffusers/PEFT file carries in <c>__metadata__["lora_adapter_metadata"]</c>: the LoraConfig of each
/// component with prefixed keys (<c>unet.lora_alpha</c>, <c>unet.alpha_pattern</c>). Without it diffusers uses
/// alpha = r, a scale of 1, which a null alpha means here too.
/// </summary>
internal sealed class PeftAlphaTable
{
    private readonly JsonElement? _config;

    public PeftAlphaTable(JsonElement? config) => _config = config;

    public float? AlphaFor(LoraComponent component, string modulePath)
    {
        if (_config is not { ValueKind: JsonValueKind.Object } config) return null;
        var prefix = component switch
        {
            LoraComponent.UNet => "unet",
            LoraComponent.TextEncoder => "text_encoder",
            _ => "text_encoder_2",
        };
        // PEFT's alpha_pattern keys match the end of the module name (re.match(rf"(.*\.)?({pattern})$", name)).
        if (config.TryGetProperty(prefix + ".alpha_pattern", out var patterns) && patterns.ValueKind == JsonValueKind.Object)
            foreach (var p in patterns.EnumerateObject())
                if ((modulePath == p.Name || modulePath.EndsWith("." + p.Name, StringComparison.Ordinal)) && p.Value.TryGetSingle(out var a))
                    return a;
        if (config.TryGetProperty(prefix + ".lora_alpha", out var alpha) && alpha.ValueKind == JsonValueKind.Number)
            return alpha.GetSingle();
        return null;
    }
}
