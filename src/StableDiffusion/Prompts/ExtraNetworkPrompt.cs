namespace StableDiffusion.Prompts;

/// <summary>
/// A prompt with its extra-network tags taken out (A1111's <c>parse_prompt</c>): <see cref="Text"/> is what is encoded,
/// <see cref="Networks"/> the tags' arguments per network type ("lora", ...), in prompt order.
/// </summary>
public sealed record ExtraNetworkPrompt(string Text, IReadOnlyDictionary<string, IReadOnlyList<ExtraNetworkParams>> Networks)
{
    /// <summary>The <c>&lt;lora:...&gt;</c> tags, empty when there are none.</summary>
    public IReadOnlyList<ExtraNetworkParams> Loras => Networks.TryGetValue("lora", out var loras) ? loras : [];
}
