namespace StableDiffusion.Prompts;

/// <summary>
/// One <c>&lt;lora:name:te:unet&gt;</c> tag read as A1111 v1.10.1's extensions-builtin/Lora/extra_networks_lora.py does:
/// the first positional item is the name; the text-encoder multiplier is the second positional item (default 1) or
/// <c>te=</c>; the UNet multiplier the third positional item (default: the text-encoder one) or <c>unet=</c>.
/// </summary>
public sealed record LoraPromptTag(string Name, double TextEncoderWeight, double UNetWeight)
{
    /// <summary>The tag's LoRA and multipliers.</summary>
    /// <exception cref="PromptSyntaxException">No name; a multiplier that is no finite number; <c>dyn</c> (DyLoRA), which is not run.</exception>
    public static LoraPromptTag From(ExtraNetworkParams tag, string prompt)
    {
        ArgumentNullException.ThrowIfNull(tag);
        string written = "<lora:" + string.Join(':', tag.Items) + ">";
        if (tag.Positional.Count == 0 || string.IsNullOrWhiteSpace(tag.Positional[0]))
            throw new PromptSyntaxException(prompt, written, $"The tag '{written}' names no LoRA; write <lora:name:weight>, e.g. <lora:style:0.8>.");
        if (tag.Named.ContainsKey("dyn") || tag.Positional.Count > 3)
            throw new PromptSyntaxException(prompt, written, $"The tag '{written}' gives a DyLoRA dimension (dyn), which is not supported; write <lora:name:te:unet> with at most two multipliers.");
        double te = tag.Positional.Count > 1 ? Weight(tag.Positional[1], written, prompt) : 1.0;
        if (tag.Named.TryGetValue("te", out string? teText)) te = Weight(teText, written, prompt);
        double unet = tag.Positional.Count > 2 ? Weight(tag.Positional[2], written, prompt) : te;
        if (tag.Named.TryGetValue("unet", out string? unetText)) unet = Weight(unetText, written, prompt);
        return new LoraPromptTag(tag.Positional[0], te, unet);
    }

    /// <summary>Python's <c>float()</c> of a multiplier (surrounding whitespace allowed), which must be finite.</summary>
    private static double Weight(string text, string written, string prompt)
    {
        string trimmed = text.Trim();
        double? value = PythonRegexChars.ParseFloat(trimmed);
        if (value is null || !double.IsFinite(value.Value))
            throw new PromptSyntaxException(prompt, text,
                $"The LoRA weight '{text}' in '{written}' is not a finite number; write a number such as <lora:name:0.8> (1 applies the LoRA as trained, 0 turns it off).");
        return value.Value;
    }
}
