using System.Management.Automation;
using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Lora;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Fuses a LoRA into the pipeline's UNet and text encoder sessions and passes the pipeline on.</para>
/// </summary>
[Cmdlet(VerbsCommon.Add, "SdLora", SupportsShouldProcess = true)]
[OutputType(typeof(SdPipeline))]
public sealed class AddSdLoraCommand : PSCmdlet
{
    /// <summary>The pipeline to change; it is written back out so configuration chains.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    /// <summary>The LoRA .safetensors file, or a name found in New-SdPipeline -LoraPath.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The LoRA's multiplier on the UNet (1: as trained).</summary>
    [Parameter(Position = 1)]
    public float Weight { get; set; } = 1f;

    /// <summary>The multiplier on the text encoder(s) (default: -Weight).</summary>
    [Parameter]
    public float TextEncoderWeight { get; set; }

    protected override void ProcessRecord()
    {
        var engine = this.Live(Pipeline);
        float? textWeight = MyInvocation.BoundParameters.ContainsKey(nameof(TextEncoderWeight)) ? TextEncoderWeight : null;
        string file = Resolve(engine.LoraLibrary);
        LoraEntry entry;
        try
        {
            entry = LoraEntry.Load(file, Weight, textWeight); // every check on the file and weights, before any session work
        }
        catch (Exception e) when (LoraErrors.IsLoraProblem(e))
        {
            WriteError(LoraErrors.From(e, e is ArgumentOutOfRangeException ? (object)(float.IsFinite(Weight) ? TextEncoderWeight : Weight) : file));
            return;
        }
        if (engine.Loras.Any(l => string.Equals(l.Name, entry.Name, StringComparison.OrdinalIgnoreCase)))
        {
            WriteError(new ErrorRecord(new ArgumentException($"A LoRA named '{entry.Name}' is already applied to {Pipeline.Model}; " +
                $"remove it first (Remove-SdLora -Name '{entry.Name}') to change its weights."), "LoraAlreadyAdded", ErrorCategory.ResourceExists, file));
            return;
        }
        if (!ShouldProcess(Pipeline.Model, $"Fuse LoRA '{entry.Name}' (weight {entry.Weight}, text encoder {entry.TextEncoderWeight}) and rebuild the sessions it changes"))
        {
            WriteObject(Pipeline);
            return;
        }
        try
        {
            this.Use(Pipeline, e => e.AddLora(entry));
        }
        catch (Exception e) when (LoraErrors.IsLoraProblem(e) || e is OnnxRuntimeException or Models.ModelLoadException or InvalidOperationException)
        {
            WriteError(e is OnnxRuntimeException or Models.ModelLoadException ? ErrorRecords.From(e, file, "LoraSessionFailed") : LoraErrors.From(e, file));
            return;
        }
        WriteVerbose($"LoRA '{entry.Name}' ({entry.Modules} modules) fused into {Pipeline.Model}.");
        WriteObject(Pipeline);
    }

    /// <summary>A bare name ("style", "style.safetensors") that is no file here is looked up in the pipeline's -LoraPath folders.</summary>
    private string Resolve(LoraLibrary library)
    {
        string full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        bool bareName = Path.IndexOfAny(['/', '\\']) < 0 && Path is not ("." or "..") && !File.Exists(full);
        if (!bareName || library.Folders.Count == 0) return full;
        var name = Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? Path[..^".safetensors".Length] : Path;
        return name.Length > 0 && library.TryResolve(name) is { } found ? found : full;
    }
}
