using System.Management.Automation;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Shows how a prompt is tokenized for the text encoder (SDXL: for both text encoders).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "SdPromptToken")]
[OutputType(typeof(SdPromptTokens))]
public sealed class GetSdPromptTokenCommand : PSCmdlet
{
    /// <summary>The pipeline whose tokenizer is used.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    /// <summary>The prompts to tokenize.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string[] Prompt { get; set; } = [];

    protected override void ProcessRecord()
    {
        this.Live(Pipeline);
        foreach (var prompt in Prompt)
        {
            var tokens = Pipeline.Engine.Tokenizer.Encode(prompt);
            if (tokens.Truncated)
                WriteWarning($"The prompt has {tokens.Count} tokens; the text encoder takes {Pipeline.Engine.Tokenizer.MaxLength}. This part is cut: \"{tokens.TruncatedText}\"");
            // SDXL base: tokenizer_2 too (same vocabulary, its own padding); the refiner's one tokenizer is tokenizer_2.
            WriteObject(new SdPromptTokens(prompt, tokens, Pipeline.Engine.Tokenizer2?.Encode(prompt)));
        }
    }
}
