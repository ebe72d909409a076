using System.Text.Json.Nodes;
using StableDiffusion.Models;

namespace StableDiffusion.Pipeline;

/// <summary>
/// The network sizes that set a generation's memory peak: the UNet's first-level channels, the heads of its
/// highest-resolution attention and how much smaller that level is than the latents, and the VAE decoder's channels at
/// full resolution. Read from the diffusers configs an export carries (unet/config.json, vae_decoder/config.json), else
/// the family's (SD 1.x: 320 channels, 8 heads at the latent resolution; SDXL: the first attention one level down, 10
/// heads; VAE 128 channels): for a smaller model such as the test fixture these over-estimate, which only errs on the safe side.
/// </summary>
public sealed record MemoryProfile(int UNetChannels, int AttentionHeads, int AttentionLevelScale, int VaeChannels)
{
    public static MemoryProfile StableDiffusion { get; } = new(320, 8, 1, 128);
    public static MemoryProfile StableDiffusionXL { get; } = new(320, 10, 2, 128);

    /// <summary>The profile of a model folder: its configs where they say, the family's defaults for the rest.</summary>
    public static MemoryProfile Of(ModelFolder model)
    {
        var profile = model.Family == ModelFamily.StableDiffusionXL ? StableDiffusionXL : StableDiffusion;
        if (ReadConfig(Path.Combine(model.Path, "unet", "config.json")) is { } unet
            && unet["block_out_channels"] is JsonArray channels && channels.Count > 0)
        {
            var types = unet["down_block_types"] as JsonArray;
            int level = 0; // the first level with attention (SDXL's first is a plain DownBlock2D)
            while (types is not null && level < types.Count - 1 && types[level]?.GetValue<string>().Contains("Attn") != true) level++;
            int levelChannels = (int)channels[Math.Min(level, channels.Count - 1)]!;
            // diffusers' attention_head_dim is the head count for SD 1.x (an int) and per level for SD 2/SDXL, where
            // num_attention_heads, when written, is the head count.
            int heads = HeadsAt(unet["num_attention_heads"] ?? unet["attention_head_dim"], level, levelChannels) ?? profile.AttentionHeads;
            profile = profile with { UNetChannels = (int)channels[0]!, AttentionHeads = heads, AttentionLevelScale = 1 << level };
        }
        if (ReadConfig(Path.Combine(model.Path, "vae_decoder", "config.json")) is { } vae
            && vae["block_out_channels"] is JsonArray vaeChannels && vaeChannels.Count > 0)
            profile = profile with { VaeChannels = (int)vaeChannels[0]! };
        return profile;
    }

    private static int? HeadsAt(JsonNode? node, int level, int channels)
    {
        int? heads = node switch
        {
            JsonArray list when list.Count > level && list[level] is JsonValue v && v.TryGetValue(out int n) => n,
            JsonValue value when value.TryGetValue(out int n) => n,
            _ => null,
        };
        return heads is > 0 ? Math.Min(heads.Value, channels) : null;
    }

    private static JsonObject? ReadConfig(string path)
    {
        try
        {
            return File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            return null; // a config we cannot read leaves the family's sizes, the safe side
        }
    }
}
