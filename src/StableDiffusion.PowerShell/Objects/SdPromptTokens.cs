using StableDiffusion.Text;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>How a prompt is tokenized for the text encoder.</summary>
public sealed class SdPromptTokens
{
    internal SdPromptTokens(string prompt, PromptTokens tokens, PromptTokens? tokens2 = null)
    {
        Ids2 = tokens2?.Ids;
        Tokens2 = tokens2?.Tokens;
        Prompt = prompt;
        Ids = tokens.Ids;
        Tokens = tokens.Tokens;
        Count = tokens.Count;
        Truncated = tokens.Truncated;
        TruncatedText = tokens.TruncatedText;
    }

    public string Prompt { get; }

    /// <summary>The ids given to the text encoder (BOS, tokens, EOS, padding).</summary>
    public int[] Ids { get; }

    /// <summary>The BPE tokens of the whole prompt (without BOS/EOS).</summary>
    public string[] Tokens { get; }

    /// <summary>SDXL base: the ids the second text encoder gets (tokenizer_2: padded with "!", id 0); null for other models.</summary>
    public int[]? Ids2 { get; }

    /// <summary>SDXL base: tokenizer_2's BPE tokens (its vocabulary is the first's: the same tokens); null for other models.</summary>
    public string[]? Tokens2 { get; }

    /// <summary>Number of tokens before truncation.</summary>
    public int Count { get; }

    /// <summary>Whether the prompt was cut to fit the text encoder.</summary>
    public bool Truncated { get; }

    /// <summary>What was cut, as text.</summary>
    public string? TruncatedText { get; }
}
