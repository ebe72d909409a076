namespace StableDiffusion.Lora;

/// <summary>
/// Name conversions for kohya-style keys, whose module path has every '.' replaced by '_': back to the dotted
/// diffusers path (by re-joining the names that contain '_'), and the original Stable Diffusion (sgm/ldm)
/// <c>input_blocks/middle_block/output_blocks</c> names to diffusers' blocks as diffusers' lora_conversion_utils does.
/// </summary>
public static class LoraKeyNames
{
    // Module names of the diffusers UNet and the transformers CLIP text encoders that themselves contain '_'.
    private static readonly HashSet<string> Compound = new(StringComparer.Ordinal)
    {
        "down_blocks", "mid_block", "up_blocks", "transformer_blocks", "to_q", "to_k", "to_v", "to_out",
        "proj_in", "proj_out", "time_emb_proj", "conv_shortcut", "conv_in", "conv_out", "conv_norm_out",
        "time_embedding", "linear_1", "linear_2", "add_embedding", "text_model", "self_attn", "q_proj", "k_proj",
        "v_proj", "out_proj", "final_layer_norm", "layer_norm1", "layer_norm2", "text_projection",
        "token_embedding", "position_embedding", "time_proj", "add_time_proj", "encoder_hid_proj",
    };

    private static readonly string[] SgmBlocks = ["input_blocks", "middle_block", "output_blocks"];

    /// <summary>The dotted module path of a flat kohya name (<c>to_out_0</c> → <c>to_out.0</c>).</summary>
    public static string ToModulePath(string flat)
    {
        var tokens = flat.Split('_');
        var parts = new List<string>(tokens.Length);
        for (int i = 0; i < tokens.Length;)
        {
            int taken = 1;
            for (int n = Math.Min(3, tokens.Length - i); n >= 2; n--)
            {
                if (Compound.Contains(string.Join('_', tokens, i, n)))
                {
                    taken = n;
                    break;
                }
            }
            parts.Add(string.Join('_', tokens, i, taken));
            i += taken;
        }
        return string.Join('.', parts);
    }

    /// <summary>The flat form of a dotted path.</summary>
    public static string Flatten(string modulePath) => modulePath.Replace('.', '_');

    /// <summary>True when a flat UNet name uses the sgm block names.</summary>
    public static bool IsSgm(string flatUNetName) => SgmBlocks.Any(b => flatUNetName.StartsWith(b + "_", StringComparison.Ordinal));

    /// <summary>
    /// A flat sgm UNet name (without <c>lora_unet_</c>) in diffusers' flat naming, or null when it has no diffusers
    /// counterpart. <paramref name="layersPerBlock"/> is the UNet config's (2 for SD 1.x, 2.x and SDXL).
    /// </summary>
    public static string? SgmToDiffusers(string flat, int layersPerBlock = 2)
    {
        var t = flat.Split('_');
        if (t.Length < 4 || !int.TryParse(t[2], out int blockIndex)) return null;
        // Input and output blocks number their inner layers (resnet, attention, sampler); the middle block does not.
        int inner = t.Length > 4 && int.TryParse(t[3], out var n) ? n : -1;
        if (inner < 0 && t[0] != "middle") return null;
        string[] innerMap = ["resnets", "attentions", "upsamplers"];
        var rest = t[4..];
        string[] head;
        switch (t[0] + "_" + t[1])
        {
            case "input_blocks":
            {
                if (blockIndex == 0) return null; // conv_in: no diffusers block
                int block = (blockIndex - 1) / (layersPerBlock + 1);
                int layer = (blockIndex - 1) % (layersPerBlock + 1);
                bool downsampler = rest is ["op"];
                if (!downsampler && inner > 1) return null;
                head = ["down_blocks", block.ToString(), downsampler ? "downsamplers" : innerMap[inner], downsampler ? "0" : layer.ToString()];
                break;
            }
            case "middle_block":
            {
                // middle_block_<i>: 0 = resnets.0, 1 = attentions.0, 2 = resnets.1; the next token begins the rest.
                string[]? part = blockIndex switch { 0 => ["resnets", "0"], 1 => ["attentions", "0"], 2 => ["resnets", "1"], _ => null };
                if (part is null) return null;
                return Rename(string.Join('_', ["mid_block", .. part, .. t[3..]]));
            }
            case "output_blocks":
            {
                int block = blockIndex / (layersPerBlock + 1);
                int layer = blockIndex % (layersPerBlock + 1);
                // An upsampler follows the resnet directly in blocks without attention (inner index 1, a bare conv).
                bool upsampler = inner == 2 || (inner == 1 && rest is ["conv"]);
                if (inner > 2) return null;
                head = ["up_blocks", block.ToString(), upsampler ? "upsamplers" : innerMap[inner], upsampler ? "0" : layer.ToString()];
                break;
            }
            default:
                return null;
        }
        return Rename(string.Join('_', [.. head, .. rest]));
    }

    // The resnet and sampler layers of the original UNet under their diffusers names.
    private static string Rename(string flat) => flat
        .Replace("_in_layers_2", "_conv1", StringComparison.Ordinal)
        .Replace("_out_layers_3", "_conv2", StringComparison.Ordinal)
        .Replace("_emb_layers_1", "_time_emb_proj", StringComparison.Ordinal)
        .Replace("_skip_connection", "_conv_shortcut", StringComparison.Ordinal)
        .Replace("_downsamplers_0_op", "_downsamplers_0_conv", StringComparison.Ordinal);
}
