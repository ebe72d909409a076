namespace StableDiffusion.Prompts;

/// <summary>
/// A prompt that AUTOMATIC1111's prompt language rejects (A1111 itself raises on it, e.g. <c>(a:.)</c>).
/// The message names the offending part and how to write it instead.
/// </summary>
public sealed class PromptSyntaxException : FormatException
{
    public PromptSyntaxException(string prompt, string fragment, string message) : base(message)
    {
        Prompt = prompt;
        Fragment = fragment;
    }

    /// <summary>The whole prompt as given.</summary>
    public string Prompt { get; }

    /// <summary>The part of the prompt that could not be read (e.g. the weight text <c>.</c>).</summary>
    public string Fragment { get; }
}
