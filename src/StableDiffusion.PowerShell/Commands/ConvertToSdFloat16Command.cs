using System.Management.Automation;
using StableDiffusion.Conversion;
using StableDiffusion.Models;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Converts a float32 Stable Diffusion ONNX model folder to float16.</para>
/// <para type="description">Converts every component graph's weights and computation to float16, keeping in float32 what needs it, and copies the tokenizer, scheduler and index so the result loads with New-SdPipeline.</para>
/// </summary>
[Cmdlet(VerbsData.ConvertTo, "SdFloat16", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(DirectoryInfo))]
public sealed class ConvertToSdFloat16Command : PSCmdlet
{
    private const int ProgressId = 7;

    /// <summary>The float32 model folder (the one holding model_index.json).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "PSPath", "ModelPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The new folder for the float16 model.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    /// <summary>Keep the graphs' float inputs and outputs float32.</summary>
    [Parameter]
    public SwitchParameter KeepIOTypes { get; set; }

    /// <summary>Operator types or node names to keep in float32 as well.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] KeepFloat32Op { get; set; } = [];

    /// <summary>Convert the VAE even when its config sets force_upcast (the SDXL VAE, which overflows float16); by default it is kept float32.</summary>
    [Parameter]
    public SwitchParameter IncludeVae { get; set; }

    /// <summary>Replace a destination that already holds files (only once the new model is complete).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Each cause its own id and category, so a script can tell a full disk from a taken folder.</summary>
    private static ErrorRecord ConversionError(Float16ConversionException e)
    {
        var (id, category) = e.Error switch
        {
            Float16ConversionError.DestinationExists => ("DestinationExists", ErrorCategory.ResourceExists),
            Float16ConversionError.DestinationIsSource => ("DestinationIsSource", ErrorCategory.InvalidArgument),
            Float16ConversionError.DestinationIsFile => ("DestinationIsFile", ErrorCategory.InvalidArgument),
            Float16ConversionError.CorruptSource => ("CorruptSourceModel", ErrorCategory.InvalidData),
            Float16ConversionError.DiskFull => ("DiskFull", ErrorCategory.ResourceUnavailable),
            Float16ConversionError.AccessDenied => ("DestinationAccessDenied", ErrorCategory.PermissionDenied),
            _ => ("ConversionWriteFailed", ErrorCategory.WriteError),
        };
        return new ErrorRecord(e, id, category, e.Target);
    }

    protected override void ProcessRecord()
    {
        string source = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        string destination = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Destination);
        if (!ShouldProcess(destination, $"Convert the model '{source}' to float16")) return;
        var options = new Float16ConversionOptions { KeepIOTypes = KeepIOTypes, KeepOps = KeepFloat32Op, IncludeVae = IncludeVae };
        IReadOnlyList<Float16ConversionReport> reports;
        try
        {
            int done = 0;
            int total = Directory.Exists(source) && File.Exists(System.IO.Path.Combine(source, "model_index.json"))
                ? Float16FolderConverter.GraphComponents(source).Count : 0;
            reports = Float16FolderConverter.Convert(source, destination, options, Force, component =>
            {
                WriteProgress(new ProgressRecord(ProgressId, "Converting to float16", component)
                {
                    PercentComplete = total == 0 ? -1 : 100 * done++ / total,
                });
            });
        }
        catch (ModelLoadException e)
        {
            WriteError(ErrorRecords.From(e, null));
            return;
        }
        catch (Float16ConversionException e)
        {
            WriteError(ConversionError(e));
            return;
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException)
        {
            WriteError(ErrorRecords.From(e, source, "ConversionFailed"));
            return;
        }
        finally
        {
            WriteProgress(new ProgressRecord(ProgressId, "Converting to float16", "Done") { RecordType = ProgressRecordType.Completed });
        }
        // A VAE left in float32 is a choice the user may want to reverse: say so where it is seen.
        var kept = reports.Where(r => r.Float32Reason is not null).Select(r => r.Component).ToArray();
        if (kept.Length > 0)
            WriteWarning($"{string.Join(" and ", kept)} copied in float32: the VAE config sets force_upcast (this VAE overflows float16, " +
                "giving NaN or black images). Add -IncludeVae to convert it anyway, or run an fp16-fix VAE export " +
                "(e.g. madebyollin/sdxl-vae-fp16-fix) with Set-SdVae.");
        foreach (var report in reports)
        {
            WriteVerbose(report.ToString());
            if (report.ClampedValues > 0)
                WriteVerbose($"{report.Component}: {report.ClampedValues} values beyond float16's range were saturated to ±65504 (e.g. attention masks).");
        }
        WriteObject(new DirectoryInfo(destination));
    }
}
