using System.Management.Automation;
using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Rewrites the pipeline's UNet so that attention runs over head slices, cutting peak memory.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Enable, "SdAttentionSlicing")]
[OutputType(typeof(SdPipeline))]
public sealed class EnableSdAttentionSlicingCommand : PSCmdlet
{
    /// <summary>The pipeline to change; it is written back out.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    /// <summary>Heads per slice: Auto (half the heads), Max (one head) or a number.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(SliceSizeCompleter))]
    [ValidateNotNullOrEmpty]
    public string SliceSize { get; set; } = "Auto";

    protected override void ProcessRecord()
    {
        this.Live(Pipeline);
        AttentionSliceSize size;
        try
        {
            size = AttentionSliceSize.Parse(SliceSize);
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(ErrorRecords.From(new ArgumentException(e.Message, nameof(SliceSize), e), SliceSize, "InvalidSliceSize"));
            return;
        }
        WriteVerbose($"Slicing the attention of {Pipeline.Model}'s UNet at slice size {size}; its session is created again.");
        AttentionSlicingResult result;
        try
        {
            result = this.Use(Pipeline, engine => engine.EnableAttentionSlicing(size));
        }
        catch (ArgumentOutOfRangeException e)
        {
            WriteError(ErrorRecords.From(new ArgumentException(e.Message, nameof(SliceSize), e), SliceSize, "InvalidSliceSize"));
            return;
        }
        catch (Exception e) when (e is ModelLoadException or FormatException or IOException or OnnxRuntimeException or InvalidOperationException)
        {
            WriteError(ErrorRecords.From(e, Pipeline, "AttentionSlicingFailed"));
            return;
        }
        switch (result.Outcome)
        {
            case AttentionSlicingOutcome.Sliced:
            case AttentionSlicingOutcome.NothingToSlice:
                WriteVerbose(result.Describe());
                break;
            default:
                // Fused, unsupported, partly sliced or no attention: the user asked for something that did not (fully) happen.
                WriteWarning(result.Describe());
                break;
        }
        WriteObject(Pipeline);
    }
}
