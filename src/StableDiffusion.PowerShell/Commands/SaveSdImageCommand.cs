using System.Management.Automation;
using StableDiffusion.Files;
using StableDiffusion.Imaging;
using StableDiffusion.Pipeline;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Saves generated images as PNG files with their generation parameters.</para>
/// <para type="description">Writes each SdImage to a PNG whose 'parameters' text chunk holds everything needed to regenerate it. Files are written atomically (temporary file, then rename).</para>
/// </summary>
[Cmdlet(VerbsData.Save, "SdImage", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(FileInfo))]
public sealed class SaveSdImageCommand : PSCmdlet
{
    private const string PathSet = "Path";
    private const string DirectorySet = "Directory";

    /// <summary>The image to save (from Invoke-SdGeneration).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdImage InputObject { get; set; } = null!;

    /// <summary>The PNG file to write.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>A folder to write into; each image is named by -NameTemplate.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DirectorySet)]
    [ValidateNotNullOrEmpty]
    public string Directory { get; set; } = "";

    /// <summary>File name template for -Directory: {seed}, {index}, {prompt}, {steps}, {scheduler}, {date}…</summary>
    [Parameter(ParameterSetName = DirectorySet)]
    [ValidateNotNullOrEmpty]
    public string NameTemplate { get; set; } = FileNameTemplate.Default;

    /// <summary>Overwrite existing files.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Fail rather than pick a free name when a -Directory file exists.</summary>
    [Parameter]
    public SwitchParameter NoClobber { get; set; }

    private FileNameTemplate? _template;
    private readonly DateTime _started = DateTime.Now;

    protected override void BeginProcessing()
    {
        if (Force && NoClobber)
            ThrowTerminatingError(ErrorRecords.Argument("-Force and -NoClobber contradict each other; give one of them.", "ForceAndNoClobber", null));
        if (ParameterSetName == DirectorySet)
        {
            try { _template = FileNameTemplate.Parse(NameTemplate); }
            catch (ArgumentException e) { ThrowTerminatingError(ErrorRecords.From(e, NameTemplate, "InvalidNameTemplate")); }
        }
    }

    /// <summary>Write a FileInfo for each file saved.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        string target;
        try
        {
            target = ParameterSetName == PathSet
                ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path)
                : _template!.Resolve(SessionState.Path.GetUnresolvedProviderPathFromPSPath(Directory), InputObject.Parameters, _started);
        }
        catch (Exception e) when (e is System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or PSArgumentException or NotSupportedException)
        {
            // A drive or provider PowerShell does not have ('NoSuchDrive:/a.png'): the path itself is the problem.
            string given = ParameterSetName == PathSet ? Path : Directory;
            WriteError(new ErrorRecord(new ArgumentException($"'{given}' is not a file-system path PowerShell can resolve ({e.Message}) Give a path on a " +
                "file-system drive, e.g. ./renders/image.png.", e), "DestinationPathNotFound", ErrorCategory.ObjectNotFound, given));
            return;
        }
        if (ParameterSetName == PathSet && System.IO.Directory.Exists(target))
        {
            // -Force cannot apply here: a folder is never replaced by an image.
            WriteError(new ErrorRecord(new IOException($"'{target}' is a folder, not a file. To save into it, use -Directory '{target}' " +
                "(files are then named by -NameTemplate); to write one file, give -Path a file name such as " +
                $"'{System.IO.Path.Combine(target, "image.png")}'."), "PathIsDirectory", ErrorCategory.InvalidArgument, target));
            return;
        }
        if (ParameterSetName == DirectorySet && !Force && !NoClobber)
            target = FreeName(target); // a second image with the same name gets "-1", "-2"…: nothing is lost, nothing overwritten
        if (!string.Equals(System.IO.Path.GetExtension(target), ".png", StringComparison.OrdinalIgnoreCase))
            WriteWarning($"'{target}' does not end in .png; the file is a PNG all the same.");
        if (!ShouldProcess(target, "Save PNG image"))
            return;
        try
        {
            string? folder = System.IO.Path.GetDirectoryName(target);
            if (!string.IsNullOrEmpty(folder)) System.IO.Directory.CreateDirectory(folder);
            PngFile.SaveWithText(InputObject.Image, target, InputObject.Parameters.ToPngText(), overwrite: Force.IsPresent);
            if (PassThru) WriteObject(new FileInfo(target));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            string hint = File.Exists(target) && !Force ? " Use -Force to overwrite it." : "";
            var wrapped = new IOException($"Cannot save '{target}': {e.Message}{hint}", e);
            WriteError(IoFailure.Classify(e) switch
            {
                IoFailureKind.DiskFull => new ErrorRecord(wrapped, "DiskFull", ErrorCategory.ResourceUnavailable, target),
                IoFailureKind.AccessDenied => new ErrorRecord(wrapped, "SaveAccessDenied", ErrorCategory.PermissionDenied, target),
                _ => ErrorRecords.From(wrapped, target, "SaveFailed"),
            });
        }
    }

    private static string FreeName(string path)
    {
        if (!File.Exists(path)) return path;
        string folder = System.IO.Path.GetDirectoryName(path)!, name = System.IO.Path.GetFileNameWithoutExtension(path), ext = System.IO.Path.GetExtension(path);
        for (int i = 1; ; i++)
        {
            string candidate = System.IO.Path.Combine(folder, $"{name}-{i}{ext}");
            if (!File.Exists(candidate)) return candidate;
        }
    }
}
