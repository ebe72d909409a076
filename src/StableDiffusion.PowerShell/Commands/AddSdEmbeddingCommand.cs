using System.Management.Automation;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;
using StableDiffusion.TextualInversion;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Adds a textual-inversion embedding (.safetensors) to the pipeline's tokenizer and text encoder.</para>
/// </summary>
[Cmdlet(VerbsCommon.Add, "SdEmbedding")]
[OutputType(typeof(SdPipeline))]
public sealed class AddSdEmbeddingCommand : PSCmdlet
{
    /// <summary>The pipeline to change; it is written back out so configuration chains.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    /// <summary>The embedding file.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The word prompts use; default: the diffusers file's tensor name, else the file's base name.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNull]
    public string? Token { get; set; }

    protected override void ProcessRecord()
    {
        this.Live(Pipeline);
        if (Path.Contains('\0'))
            ThrowTerminatingError(ErrorRecords.Argument($"The embedding path '{Path.Replace("\0", "\\0")}' holds a character no file path can (NUL); check where the path came from.",
                "InvalidEmbeddingPath", Path));
        string full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        TextualInversionEmbedding added = null!;
        try
        {
            added = this.Use(Pipeline, engine => engine.AddEmbedding(full, Token));
        }
        catch (Exception e) when (EmbeddingErrors.Handles(e))
        {
            ThrowTerminatingError(EmbeddingErrors.From(e, full));
        }
        WriteVerbose($"Embedding '{added.Token}' ({added.VectorCount} vector(s): {string.Join(" ", added.Tokens)}) from '{full}'.");
        WriteObject(Pipeline);
    }
}
