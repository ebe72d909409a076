using System.Collections.ObjectModel;
using System.Management.Automation;
using StableDiffusion.Imaging;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Reads the generation parameters recorded in PNG files.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "SdImageInfo", DefaultParameterSetName = PathSet)]
[OutputType(typeof(SdImageInfo))]
public sealed class GetSdImageInfoCommand : PSCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralSet = "LiteralPath";

    /// <summary>PNG files; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    /// <summary>PNG files, taken literally (no wildcards).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralSet)]
    [Alias("PSPath", "FullName", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var file in Resolve())
        {
            // Checked before reading, for both parameter sets: a missing file or a folder is not an unreadable PNG.
            if (Directory.Exists(file))
            {
                WriteError(ErrorRecords.Argument($"'{file}' is a folder, not a PNG file; give the files in it, e.g. Get-SdImageInfo -Path '{System.IO.Path.Combine(file, "*.png")}'.",
                    "ImageIsFolder", file));
                continue;
            }
            if (!File.Exists(file))
            {
                WriteError(new ErrorRecord(new FileNotFoundException($"The image '{file}' does not exist.", file), "ImageNotFound", ErrorCategory.ObjectNotFound, file));
                continue;
            }
            try
            {
                var text = PngFile.ReadText(file);
                WriteObject(new SdImageInfo(file, GenerationParameters.Parse(text)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException or System.Text.Json.JsonException or InvalidOperationException)
            {
                WriteError(ErrorRecords.From(new InvalidDataException($"Cannot read generation parameters from '{file}': {e.Message}", e), file, "ImageInfoUnreadable"));
            }
        }
    }

    private IEnumerable<string> Resolve()
    {
        if (ParameterSetName == LiteralSet)
        {
            foreach (var p in LiteralPath)
                yield return SessionState.Path.GetUnresolvedProviderPathFromPSPath(p);
            yield break;
        }
        foreach (var p in Path)
        {
            Collection<string>? resolved = null;
            try
            {
                resolved = SessionState.Path.GetResolvedProviderPathFromPSPath(p, out _);
            }
            catch (ItemNotFoundException e)
            {
                WriteError(new ErrorRecord(e, "ImageNotFound", ErrorCategory.ObjectNotFound, p));
            }
            if (resolved is null) continue;
            foreach (var r in resolved) yield return r;
        }
    }
}
