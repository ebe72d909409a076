using System.Text.Json;
using System.Text.Json.Nodes;
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
    /// unless <paramref name="overwrite"/>). <paramref name="progress"/> hears of each component as it starts.
    /// </summary>
    /// <exception cref="ModelLoadException">The source is not a model folder.</exception>
    /// <exception cref="IOException">The destination is the source, or holds files and <paramref name="overwrite"/> is false.</exception>
    public static IReadOnlyList<Float16ConversionReport> Convert(string source, string destination, Float16ConversionOptions? options = null,
        bool overwrite = false, Action<string>? progress = null, CancellationToken cancellation = default)
    {
        var model = ModelFolder.Open(source); // checks it is a complete model folder first
        source = model.Path;
        destination = Path.GetFullPath(destination);
        if (string.Equals(source.TrimEnd(Path.DirectorySeparatorChar), destination.TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
            throw new IOException($"The destination '{destination}' is the source folder; convert into a new folder.");
        if (Directory.Exists(destination) && Directory.EnumerateFileSystemEntries(destination).Any() && !overwrite)
            throw new IOException($"The destination '{destination}' exists and is not empty. Choose a new folder, or overwrite it (-Force).");
        Directory.CreateDirectory(destination);

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
                var file = OnnxGraphFile.Load(graphPath, loadExternalData: false);
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
