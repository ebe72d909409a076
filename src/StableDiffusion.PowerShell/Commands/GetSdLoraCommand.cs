using System.Management.Automation;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Lists the LoRAs fused into a pipeline, in the order they are applied.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "SdLora")]
[OutputType(typeof(SdLoraInfo))]
public sealed class GetSdLoraCommand : PSCmdlet
{
    /// <summary>The pipeline whose LoRAs to list.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    /// <summary>Only the LoRAs whose name matches (wildcards allowed).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var engine = this.Live(Pipeline);
        var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        foreach (var lora in engine.Loras)
            if (patterns is null || patterns.Any(p => p.IsMatch(lora.Name)))
                WriteObject(new SdLoraInfo(lora, Pipeline.Model));
    }
}
