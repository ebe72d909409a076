using System.Management.Automation;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Loads a Stable Diffusion ONNX model folder.</para>
/// <para type="description">Loads a diffusers ONNX export (model_index.json, tokenizer, text_encoder, unet, vae_decoder, scheduler) and returns an SdPipeline that the other cmdlets use.</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "SdPipeline")]
[OutputType(typeof(SdPipeline))]
public sealed class NewSdPipelineCommand : PSCmdlet
{
    /// <summary>The model folder (the one holding model_index.json).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "PSPath", "ModelPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Auto (CUDA when it loads, else CPU), Cpu or Cuda.</summary>
    [Parameter]
    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Auto;

    /// <summary>CUDA device ordinal.</summary>
    [Parameter]
    [ValidateRange(0, 64)]
    public int DeviceId { get; set; }

    /// <summary>A VAE export to use instead of the model's (e.g. sd-vae-ft-mse).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? VaePath { get; set; }

    /// <summary>Largest memory arena of the provider, in bytes (CUDA gpu_mem_limit; CPU shared arena, at most 4 GiB - 1).</summary>
    [Parameter]
    [ValidateRange(1L << 20, long.MaxValue)]
    public long MemoryLimit { get; set; }

    /// <summary>How the provider's memory arena grows: NextPowerOfTwo (default), SameAsRequested, or Disabled (CPU: no arena).</summary>
    [Parameter]
    public ArenaStrategy ArenaStrategy { get; set; } = ArenaStrategy.NextPowerOfTwo;

    /// <summary>Release the text encoder and VAE sessions between uses.</summary>
    [Parameter]
    public SwitchParameter LowMemory { get; set; }

    /// <summary>Largest batch one UNet call gets; bigger batches run in sub-batches.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int UNetBatchSize { get; set; }

    private MemoryOptions Memory => new()
    {
        MemoryLimit = MyInvocation.BoundParameters.ContainsKey(nameof(MemoryLimit)) ? MemoryLimit : null,
        ArenaStrategy = ArenaStrategy,
        LowMemory = LowMemory,
    };

    protected override void ProcessRecord()
    {
        string full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        WriteVerbose($"Loading '{full}' on {ExecutionProvider}.");
        StableDiffusionPipeline engine;
        try
        {
            engine = StableDiffusionPipeline.Load(full, new PipelineOptions { ExecutionProvider = ExecutionProvider, DeviceId = DeviceId, Memory = Memory });
        }
        catch (Exception e) when (e is ModelLoadException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            WriteError(ErrorRecords.From(e, e is ModelLoadException ? null : full)); // a load error targets the file at fault
            return;
        }
        if (VaePath is not null)
        {
            try
            {
                engine.ReplaceVae(SessionState.Path.GetUnresolvedProviderPathFromPSPath(VaePath));
            }
            catch (ModelLoadException e)
            {
                engine.Dispose(); // nothing half-loaded stays behind
                WriteError(ErrorRecords.From(e, null, "InvalidVae"));
                return;
            }
        }
        if (UNetBatchSize > 0) engine.UNetBatchSize = UNetBatchSize;
        if (engine.ProviderFallbackReason is { } reason)
            WriteWarning($"CUDA is not available, running on the CPU. {reason}");
        WriteObject(new SdPipeline(engine));
    }
}
