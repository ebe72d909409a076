using System.Management.Automation;
using StableDiffusion.Pipeline;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.Prompts;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Shows how a prompt is tokenized for the text encoder (SDXL: for both text encoders).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "SdPromptToken")]
[OutputType(typeof(SdPromptTokens), typeof(SdA1111PromptTokens))]
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

    /// <summary>Plain (the tokenizer's 77 tokens) or A1111 (weighted fragments and 75-token chunks); default: the pipeline's.</summary>
    [Parameter]
    public PromptSyntax? PromptSyntax { get; set; }

    /// <summary>A1111: the emphasis mode (None reads brackets literally); default Original.</summary>
    [Parameter]
    public EmphasisMode Emphasis { get; set; } = EmphasisMode.Original;

    protected override void ProcessRecord()
    {
        this.Live(Pipeline);
        if ((PromptSyntax ?? Pipeline.PromptSyntax) == StableDiffusion.Pipeline.PromptSyntax.A1111)
        {
            foreach (var prompt in Prompt) WriteA1111(prompt);
            return;
        }
        foreach (var prompt in Prompt)
        {
            var tokens = Pipeline.Engine.Tokenizer.Encode(prompt);
            if (tokens.Truncated)
                WriteWarning($"The prompt has {tokens.Count} tokens; the text encoder takes {Pipeline.Engine.Tokenizer.MaxLength}. This part is cut: \"{tokens.TruncatedText}\"");
            // SDXL base: tokenizer_2 too (same vocabulary, its own padding); the refiner's one tokenizer is tokenizer_2.
            WriteObject(new SdPromptTokens(prompt, tokens, Pipeline.Engine.Tokenizer2?.Encode(prompt)));
        }
    }

    /// <summary>One object per schedule text of the prompt (one for a prompt without editing), as the pipeline chunks it.</summary>
    private void WriteA1111(string prompt)
    {
        var chunker = new A1111Chunker(Pipeline.Engine.Tokenizer, Emphasis);
        try
        {
            foreach (var entry in A1111PromptSchedules.Get(prompt, GenerationDefaults.Steps))
                WriteObject(new SdA1111PromptTokens(prompt, entry, chunker.Fragments(entry.Text), chunker.TokenizeLine(entry.Text)));
        }
        catch (PromptSyntaxException e)
        {
            WriteError(ErrorRecords.Argument($"{e.Message} Fix the prompt, or read it literally with -PromptSyntax Plain.", "InvalidA1111Prompt", prompt));
        }
    }
}
