using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using StableDiffusion.Files;
using StableDiffusion.Graph;
using StableDiffusion.Models;

namespace StableDiffusion.Conversion;

/// <summary>
/// Converts a whole diffusers ONNX model folder to float16: every component graph (text encoder, UNet, VAE, safety
/// checker…) through <see cref="Float16Converter"/>, weights past protobuf's 2 GB limit written as external data,
/// and the other components model_index.json lists (tokenizer, scheduler, feature extractor…) copied, so the
/// destination loads like the source. A VAE whose config sets <c>force_upcast</c> (SDXL) is copied in float32 unless
/// <see cref="Float16ConversionOptions.IncludeVae"/>; its report says so (<see cref="Float16ConversionReport.Float32Reason"/>).
/// </summary>
public static class Float16FolderConverter
{
    /// <summary>The component folders of <paramref name="source"/> that hold a graph (model.onnx), in model_index.json order.</summary>
    public static IReadOnlyList<string> GraphComponents(string source) =>
        Components(source).Where(c => File.Exists(Path.Combine(source, c, "model.onnx"))).ToArray();

    /// <summary>
    /// Everything model_index.json lists with a value (null entries such as a missing safety checker or the SDXL refiner's
    /// text_encoder are skipped). An optimum export's index names the PyTorch <c>vae</c>, whose graphs are the
    /// <c>vae_encoder</c>/<c>vae_decoder</c> folders: those stand in for it.
    /// </summary>
    public static IReadOnlyList<string> Components(string source)
    {
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "model_index.json"))) as JsonObject
            ?? throw new FormatException($"'{Path.Combine(source, "model_index.json")}' is not a JSON object.");
        var listed = index.Where(kv => !kv.Key.StartsWith('_') && kv.Value is JsonArray { Count: 2 } pair && pair[0] is not null)
            .Select(kv => kv.Key);
        return listed.SelectMany(c => c == "vae" && !Directory.Exists(Path.Combine(source, c)) ? [VaeEncoder, VaeDecoder] : new[] { c })
            .Where(c => Directory.Exists(Path.Combine(source, c))).Distinct().ToArray();
    }

    private const string VaeEncoder = "vae_encoder", VaeDecoder = "vae_decoder";

    /// <summary>
    /// Why a component is copied in float32 rather than converted, or null: a VAE whose config asks for float32
    /// (<c>force_upcast</c>, the SDXL VAE) unless <see cref="Float16ConversionOptions.IncludeVae"/>.
    /// </summary>
    private static string? Float32Reason(string component, ModelFolder model, Float16ConversionOptions? options) =>
        component is VaeEncoder or VaeDecoder && model.VaeForceUpcast && options?.IncludeVae != true
            ? "the VAE config sets force_upcast: this VAE overflows float16 (NaN or black images), so it stays float32 as diffusers " +
              "runs it (Float16ConversionOptions.IncludeVae converts it anyway)"
            : null;

    /// <summary>
    /// Converts <paramref name="source"/> into <paramref name="destination"/> (created; it must not exist or be empty
    /// unless <paramref name="overwrite"/>, which replaces it). <paramref name="progress"/> hears of each component as it starts.
    /// The model is built in a hidden temporary folder beside the destination and renamed into place only when complete,
    /// so a failure (a corrupt source, a full disk, cancellation) leaves the destination as it was.
    /// </summary>
    /// <exception cref="ModelLoadException">The source is not a model folder.</exception>
    /// <exception cref="Float16ConversionException">The destination cannot be used or written, or a source file is corrupt.</exception>
    public static IReadOnlyList<Float16ConversionReport> Convert(string source, string destination, Float16ConversionOptions? options = null,
        bool overwrite = false, Action<string>? progress = null, CancellationToken cancellation = default)
    {
        var model = ModelFolder.Open(source); // checks it is a complete model folder first
        source = model.Path.TrimEnd(Path.DirectorySeparatorChar);
        destination = Path.GetFullPath(destination).TrimEnd(Path.DirectorySeparatorChar);
        CheckDestination(source, destination, overwrite);

        string parent = Path.GetDirectoryName(destination)!;
        var createdParents = CreateParents(parent, destination);
        RemoveAbandonedBuilds(parent, destination);
        string building = Path.Combine(parent, TemporaryFolderName(destination, "building"));
        try
        {
            Directory.CreateDirectory(building);
            var reports = ConvertInto(model, source, building, options, progress, cancellation);
            cancellation.ThrowIfCancellationRequested();
            MoveIntoPlace(building, destination, overwrite);
            return reports;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            TryDeleteTree(building);
            RemoveCreated(createdParents);
            throw Classify(e, source, destination);
        }
        catch
        {
            TryDeleteTree(building);
            RemoveCreated(createdParents);
            throw;
        }
    }

    /// <summary>Our temporary folders beside a destination: hidden, named after it, recognisable as ours.</summary>
    private static string TemporaryFolderName(string destination, string purpose) =>
        $".{Path.GetFileName(destination)}.sd-float16-{purpose}-{Guid.NewGuid():N}.tmp";

    /// <summary>
    /// How long a build folder must have been left untouched before it counts as abandoned by a killed conversion (each
    /// component written touches it; no component takes this long to convert).
    /// </summary>
    private static readonly TimeSpan AbandonedBuildAge = TimeSpan.FromHours(1);

    /// <summary>
    /// Removes build folders a killed conversion (kill -9, power loss) left beside this destination: only ours for this
    /// name, only "building" ones (a "replaced" one holds the user's previous model and is never deleted here), only old ones.
    /// </summary>
    private static void RemoveAbandonedBuilds(string parent, string destination)
    {
        if (!Directory.Exists(parent)) return;
        var pattern = new Regex($@"^\.{Regex.Escape(Path.GetFileName(destination))}\.sd-float16-building-[0-9a-f]{{32}}\.tmp$");
        try
        {
            foreach (var folder in Directory.EnumerateDirectories(parent, ".*.tmp"))
                if (pattern.IsMatch(Path.GetFileName(folder)) && DateTime.UtcNow - Directory.GetLastWriteTimeUtc(folder) > AbandonedBuildAge)
                    TryDeleteTree(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Cleaning up is a courtesy; the conversion itself reports a folder it cannot use.
        }
    }

    private static void CheckDestination(string source, string destination, bool overwrite)
    {
        if (string.Equals(source, destination, StringComparison.Ordinal))
            throw new Float16ConversionException(Float16ConversionError.DestinationIsSource, destination,
                $"The destination '{destination}' is the source folder; convert into a new folder.");
        if (destination.StartsWith(source + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new Float16ConversionException(Float16ConversionError.DestinationIsSource, destination,
                $"The destination '{destination}' lies inside the source folder '{source}'; convert into a folder outside it.");
        if (File.Exists(destination))
            throw new Float16ConversionException(Float16ConversionError.DestinationIsFile, destination,
                $"The destination '{destination}' is a file; give a folder path for the float16 model.");
        if (Directory.Exists(destination) && Directory.EnumerateFileSystemEntries(destination).Any() && !overwrite)
            throw new Float16ConversionException(Float16ConversionError.DestinationExists, destination,
                $"The destination '{destination}' exists and is not empty. Choose a new folder, or replace it (-Force).");
    }

    /// <summary>Creates the missing folders above the destination; returns them, deepest first, to remove on failure.</summary>
    private static List<string> CreateParents(string parent, string destination)
    {
        var missing = new List<string>();
        for (string? d = parent; d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d))
        {
            if (File.Exists(d))
                throw new Float16ConversionException(Float16ConversionError.DestinationIsFile, d,
                    $"Cannot create '{destination}': '{d}' is a file, not a folder.");
            missing.Add(d);
        }
        try
        {
            Directory.CreateDirectory(parent);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            RemoveCreated(missing);
            throw Classify(e, "", destination);
        }
        return missing;
    }

    private static void RemoveCreated(List<string> created)
    {
        foreach (var d in created)
        {
            try { Directory.Delete(d); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* no longer empty, or gone: leave it */ }
        }
    }

    /// <summary>
    /// Renames the finished folder into place. An existing destination (empty, or replaced under overwrite) is first moved
    /// aside, and moved back if the rename fails, so the destination is always either the old folder or the whole new one.
    /// </summary>
    private static void MoveIntoPlace(string building, string destination, bool overwrite)
    {
        if (!Directory.Exists(destination))
        {
            Directory.Move(building, destination);
            return;
        }
        // Files may have appeared there while the model was built: they are replaced only if the caller allowed it.
        if (!overwrite && Directory.EnumerateFileSystemEntries(destination).Any())
            throw new Float16ConversionException(Float16ConversionError.DestinationExists, destination,
                $"The destination '{destination}' received files while the model was converted. Choose a new folder, or replace it (-Force).");
        string old = Path.Combine(Path.GetDirectoryName(destination)!, TemporaryFolderName(destination, "replaced"));
        Directory.Move(destination, old);
        try
        {
            Directory.Move(building, destination);
        }
        catch
        {
            Directory.Move(old, destination);
            throw;
        }
        TryDeleteTree(old);
    }

    private static void TryDeleteTree(string folder)
    {
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The original failure matters more than a leftover hidden temporary folder.
        }
    }

    /// <summary>Turns a failure into one that says its cause: the disk, the permissions, or the corrupt source file.</summary>
    private static Float16ConversionException Classify(Exception e, string source, string destination)
    {
        if (e is Float16ConversionException known) return known;
        if (e is FormatException || (e is FileNotFoundException missing && source.Length > 0 && missing.FileName?.StartsWith(source, StringComparison.Ordinal) == true))
            return CorruptSource((e as FileNotFoundException)?.FileName ?? source, e, source);
        return IoFailure.Classify(e) switch
        {
            IoFailureKind.DiskFull => new Float16ConversionException(Float16ConversionError.DiskFull, destination,
                $"The disk is full: the float16 model does not fit beside '{destination}' ({e.Message}). Free space or choose a folder on another disk; " +
                "nothing was left behind.", e),
            IoFailureKind.AccessDenied => new Float16ConversionException(Float16ConversionError.AccessDenied, destination,
                $"Cannot write '{destination}': access is denied or the file system is read-only ({e.Message}). Choose a folder you can write to.", e),
            _ => new Float16ConversionException(Float16ConversionError.WriteFailed, destination,
                $"Converting into '{destination}' failed: {e.Message} Nothing was left behind.", e),
        };
    }

    private static Float16ConversionException CorruptSource(string file, Exception e, string source) =>
        new(Float16ConversionError.CorruptSource, file,
            $"The source model is damaged: {e.Message} Re-export or re-download '{source}'; the destination was left as it was.", e);

    private static List<Float16ConversionReport> ConvertInto(ModelFolder model, string source, string destination,
        Float16ConversionOptions? options, Action<string>? progress, CancellationToken cancellation)
    {
        var reports = new List<Float16ConversionReport>();
        File.Copy(Path.Combine(source, "model_index.json"), Path.Combine(destination, "model_index.json"), overwrite: true);
        foreach (var component in Components(source))
        {
            cancellation.ThrowIfCancellationRequested();
            string from = Path.Combine(source, component), to = Path.Combine(destination, component);
            Directory.CreateDirectory(to);
            string graphPath = Path.Combine(from, "model.onnx");
            var externalFiles = new HashSet<string>(StringComparer.Ordinal);
            string? float32Reason = Float32Reason(component, model, options);
            bool convert = File.Exists(graphPath) && float32Reason is null;
            if (File.Exists(graphPath))
            {
                progress?.Invoke(component);
                OnnxGraphFile file;
                try
                {
                    file = OnnxGraphFile.Load(graphPath, loadExternalData: false);
                }
                catch (FormatException e)
                {
                    throw CorruptSource(graphPath, e, source);
                }
                foreach (var tensor in file.AllInitializers())
                    if (TensorData.IsExternal(tensor)) externalFiles.Add(ExternalDataReference.Parse(tensor).Location);
                if (convert)
                {
                    reports.Add(Float16Converter.Convert(file, options, component));
                    file.Save(Path.Combine(to, "model.onnx")); // one file, or weights in model.onnx_data past 2 GB
                }
                else
                {
                    long bytes = new FileInfo(graphPath).Length + externalFiles.Sum(f => new FileInfo(Path.Combine(from, f)).Length);
                    reports.Add(Float16ConversionReport.Unconverted(component, file.Graph.Node.Count, bytes, float32Reason!));
                }
            }
            // The rest of the component (configs, tokenizer files…), but not the float32 weights a converted graph referred to.
            foreach (var item in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            {
                string relative = Path.GetRelativePath(from, item);
                if (convert && (relative == "model.onnx" || externalFiles.Contains(relative))) continue;
                string target = Path.Combine(to, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(item, target, overwrite: true);
            }
        }
        return reports;
    }
}
