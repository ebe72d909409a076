using System.Management.Automation;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Lists the textual-inversion embeddings of a pipeline.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "SdEmbedding")]
[OutputType(typeof(SdEmbedding))]
public sealed class GetSdEmbeddingCommand : PSCmdlet
{
    /// <summary>The pipeline whose embeddings are listed.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    /// <summary>Only embeddings whose token matches (wildcards allowed).</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    public string[]? Token { get; set; }

    protected override void ProcessRecord()
    {
        var engine = this.Live(Pipeline);
        var patterns = Token?.Select(t => WildcardPattern.Get(t, WildcardOptions.IgnoreCase)).ToArray();
        int firstId = engine.Tokenizer.BaseVocabularySize;
        foreach (var embedding in engine.Embeddings)
        {
            if (patterns is null || patterns.Any(p => p.IsMatch(embedding.Token)))
                WriteObject(new SdEmbedding(embedding, firstId));
            firstId += embedding.VectorCount;
        }
    }
}
