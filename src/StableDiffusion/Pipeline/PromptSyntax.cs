namespace StableDiffusion.Pipeline;

/// <summary>How a prompt's text is read.</summary>
public enum PromptSyntax
{
    /// <summary>diffusers: the text is literal, tokenized to the encoder's 77 tokens (longer prompts are truncated).</summary>
    Plain,

    /// <summary>
    /// AUTOMATIC1111 v1.10: <c>(word:1.2)</c> emphasis, <c>[from:to:when]</c> editing, <c>[a|b]</c> alternation, BREAK and
    /// 75-token chunks (a prompt of k chunks conditions the UNet with 77·k tokens).
    /// </summary>
    A1111,
}
