using System.Management.Automation;
using System.Text;
using System.Text.Json.Nodes;
using StableDiffusion.Imaging;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Saves piped images as one grid PNG that records each image's parameters.</para>
/// </summary>
[Cmdlet(VerbsData.Save, "SdImageGrid", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class SaveSdImageGridCommand : PSCmdlet
{
    /// <summary>Key of the PNG text chunk with every cell's parameters as JSON.</summary>
    public const string GridJsonKey = "sd-grid";

    private readonly List<SdImage> _images = [];

    /// <summary>The images, in grid order (row by row).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdImage[] InputObject { get; set; } = [];

    /// <summary>The grid PNG to write.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Rows; computed when omitted.</summary>
    [Parameter]
    public int? Rows { get; set; }

    /// <summary>Columns; computed when omitted.</summary>
    [Parameter]
    public int? Columns { get; set; }

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Write a FileInfo for the grid.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => _images.AddRange(InputObject);

    protected override void EndProcessing()
    {
        string target = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        if (_images.Count == 0)
        {
            // Nothing came down the pipeline (every generation failed, or an empty list): say so rather than return silently.
            WriteError(ErrorRecords.Argument($"No images came to Save-SdImageGrid, so no grid was written to '{target}'. Pipe the images " +
                "(SdImage objects or image files) to it, e.g. Invoke-SdGeneration ... | Save-SdImageGrid -Path grid.png.", "NoImages", target));
            return;
        }
        (int rows, int columns) layout;
        try
        {
            layout = ImageGrid.Layout(_images.Count, Rows, Columns);
            ImageGrid.CheckSize(_images.Max(i => i.Width), _images.Max(i => i.Height), layout.rows, layout.columns); // before -WhatIf and any pixel
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(ErrorRecords.From(e, _images.Count, "InvalidGridLayout"));
            return;
        }
        if (_images.Select(i => (i.Width, i.Height)).Distinct().Count() > 1)
            WriteWarning($"The images have different sizes; each is centred in a {_images.Max(i => i.Width)}×{_images.Max(i => i.Height)} cell.");
        if (!ShouldProcess(target, $"Save a {layout.rows}×{layout.columns} grid of {_images.Count} images"))
            return;
        try
        {
            using var grid = ImageGrid.Compose(_images.Select(i => i.Image).ToList(), layout.rows, layout.columns);
            var text = new StringBuilder();
            var cells = new JsonArray();
            for (int i = 0; i < _images.Count; i++)
            {
                var p = _images[i].Parameters;
                int row = i / layout.columns + 1, column = i % layout.columns + 1;
                if (i > 0) text.Append("\n\n");
                text.Append($"[image {i + 1}: row {row}, column {column}]\n").Append(p.ToText());
                var cell = JsonNode.Parse(p.ToJson())!.AsObject();
                cell["row"] = row;
                cell["column"] = column;
                cells.Add(cell);
            }
            string? folder = System.IO.Path.GetDirectoryName(target);
            if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
            PngFile.SaveWithText(grid, target, new Dictionary<string, string>
            {
                [GenerationParameters.TextKey] = text.ToString(),
                [GridJsonKey] = cells.ToJsonString(),
            }, overwrite: Force.IsPresent);
            if (PassThru) WriteObject(new FileInfo(target));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            string hint = File.Exists(target) && !Force ? " Use -Force to overwrite it." : "";
            WriteError(ErrorRecords.From(new IOException($"Cannot save '{target}': {e.Message}{hint}", e), target, "SaveFailed"));
        }
    }
}
