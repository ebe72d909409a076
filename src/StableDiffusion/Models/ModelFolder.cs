using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableDiffusion.Models;

/// <summary>
/// A diffusers ONNX model folder (as written by diffusers' and Optimum's exporters): <c>model_index.json</c>,
/// <c>tokenizer/</c>, <c>text_encoder/</c>, <c>unet/</c>, <c>vae_decoder/</c>, optional <c>vae_encoder/</c>,
/// <c>scheduler/scheduler_config.json</c>. Opening it checks that every required file is there, so a bad
/// folder fails before any session is created.
/// </summary>
public sealed class ModelFolder
{
    /// <summary>SD 1.x/2.x latent scaling when the VAE's config does not say otherwise.</summary>
    public const float DefaultScalingFactor = 0.18215f;

    private ModelFolder(string path) => Path = path;

    /// <summary>Absolute path of the folder.</summary>
    public string Path { get; }

    /// <summary>Folder name, used as the model's display name.</summary>
    public string Name => System.IO.Path.GetFileName(Path.TrimEnd(System.IO.Path.DirectorySeparatorChar));

    /// <summary>
    /// What model_index.json names that this library does not run (another pipeline class, components it ignores): the
    /// folder still loads, but the results may not be what the model's authors meant. Callers show these to the user.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; private set; } = [];

    /// <summary>
    /// Checks that <paramref name="full"/> is a folder, telling a missing one from a file and from a symbolic link that
    /// points nowhere or at itself (a loop reads as neither file nor folder, and would otherwise be called missing or a file).
    /// </summary>
    /// <exception cref="ModelLoadException">It is not a folder.</exception>
    internal static void CheckFolderPath(string full, string what, string expected)
    {
        if (Directory.Exists(full)) return;
        var info = new FileInfo(full);
        if (info.LinkTarget is { } link)
        {
            string problem;
            try
            {
                var final = info.ResolveLinkTarget(returnFinalTarget: true);
                problem = final is null || !final.Exists ? $"points to '{link}', which does not exist" : $"points to the file '{final.FullName}'";
            }
            catch (IOException)
            {
                // .NET reports a loop (ELOOP) or a chain too long to follow as an IOException.
                problem = $"is a symbolic link that loops (it points to '{link}', which leads back to itself)";
            }
            throw new ModelLoadException(ModelLoadError.FolderNotFound, full, $"{what} '{full}' {problem}; give {expected}, or fix the link.");
        }
        throw new ModelLoadException(ModelLoadError.FolderNotFound, full,
            info.Exists ? $"'{full}' is a file; give {expected}." : $"{what} '{full}' does not exist.");
    }

    /// <summary>The pipeline class named in model_index.json (e.g. OnnxStableDiffusionPipeline).</summary>
    public string? PipelineClass { get; private set; }

    public string TokenizerDirectory => Combine("tokenizer");
    public string TextEncoderPath => Combine("text_encoder", "model.onnx");
    public string Tokenizer2Directory => Combine("tokenizer_2");
    public string TextEncoder2Path => Combine("text_encoder_2", "model.onnx");

    /// <summary>Whether the folder has the first text encoder and its tokenizer (an SDXL refiner has only the second).</summary>
    public bool HasTextEncoder => File.Exists(TextEncoderPath);

    /// <summary>Whether the folder has SDXL's second text encoder (OpenCLIP bigG) and its tokenizer.</summary>
    public bool HasTextEncoder2 => File.Exists(TextEncoder2Path);

    /// <summary>The model family, recognised from the index's class name and the components present (never the folder's name).</summary>
    public ModelFamily Family { get; private set; }

    /// <summary>
    /// SDXL's <c>force_zeros_for_empty_prompt</c> (model_index.json; diffusers' default true): with guidance and no negative
    /// prompt the negative embeddings are zeros instead of the encoded "".
    /// </summary>
    public bool ForceZerosForEmptyPrompt { get; private set; } = true;

    /// <summary>SDXL's <c>requires_aesthetics_score</c> (model_index.json; the refiner): time ids carry the aesthetic score.</summary>
    public bool RequiresAestheticsScore { get; private set; }

    /// <summary>The VAE config's <c>force_upcast</c>: a float16 VAE should decode in float32 (the SDXL VAE overflows in float16).</summary>
    public bool VaeForceUpcast { get; private set; }
    public string UNetPath => Combine("unet", "model.onnx");
    public string VaeDecoderPath => Combine("vae_decoder", "model.onnx");
    public string VaeEncoderPath => Combine("vae_encoder", "model.onnx");
    public string SchedulerConfigPath => Combine("scheduler", "scheduler_config.json");

    /// <summary>True when the folder has a VAE encoder (needed for image-to-image).</summary>
    public bool HasVaeEncoder => File.Exists(VaeEncoderPath);

    /// <summary>The VAE's latent scaling factor (vae config <c>scaling_factor</c>, else 0.18215).</summary>
    public float ScalingFactor { get; private set; } = DefaultScalingFactor;

    /// <summary>2^(VAE levels - 1): image pixels per latent pixel (8 for every SD model).</summary>
    public int VaeScaleFactor { get; private set; } = 8;

    /// <summary>Default image size: the UNet config's sample_size × <see cref="VaeScaleFactor"/>, else 512.</summary>
    public int DefaultImageSize { get; private set; } = 512;

    /// <summary>
    /// The UNet's sample and prediction channels from unet/config.json (<c>in_channels</c>, <c>out_channels</c>), for graphs
    /// whose channel dimension is symbolic; null where the folder has no config.
    /// </summary>
    public (int? In, int? Out) UNetChannels { get; private set; }

    /// <summary>Opens and checks a model folder.</summary>
    /// <exception cref="ModelLoadException">The folder is missing, is not a model folder, or lacks a component.</exception>
    public static ModelFolder Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = System.IO.Path.GetFullPath(path);
        CheckFolderPath(full, "Model folder", "the model folder that holds model_index.json");

        var folder = new ModelFolder(full);
        string index = folder.Combine("model_index.json");
        if (!File.Exists(index))
            throw new ModelLoadException(ModelLoadError.NotAModelFolder, full,
                $"'{full}' is not a Stable Diffusion ONNX model folder: it has no model_index.json. " +
                "Export one with diffusers' convert_stable_diffusion_checkpoint_to_onnx.py or " +
                "'optimum-cli export onnx --model <id> <folder>'.");
        var indexJson = ReadObject(index);
        folder.PipelineClass = ConfigValue.Text(indexJson, index, "_class_name");
        folder.Warnings = ModelIndexWarnings.For(indexJson, index);
        // SDXL: the index names an XL pipeline or the folder has the second text encoder (optimum's layout either way).
        bool xl = folder.PipelineClass?.Contains("XL", StringComparison.Ordinal) == true || folder.HasTextEncoder2;
        folder.Family = xl ? ModelFamily.StableDiffusionXL : ModelFamily.StableDiffusion;
        if (ConfigValue.Boolean(indexJson, index, "force_zeros_for_empty_prompt") is { } zeros) folder.ForceZerosForEmptyPrompt = zeros;
        if (ConfigValue.Boolean(indexJson, index, "requires_aesthetics_score") is { } aesthetics) folder.RequiresAestheticsScore = aesthetics;

        // SD 1.x/2.x need the text encoder; SDXL needs the second one, and the first unless it is a refiner.
        if (!xl || folder.HasTextEncoder || indexJson["text_encoder"] is JsonArray { Count: > 0 } te && te[0] is not null)
        {
            folder.Require(folder.TextEncoderPath, "text encoder");
            folder.RequireTokenizer(folder.TokenizerDirectory, "tokenizer");
        }
        if (xl)
        {
            folder.Require(folder.TextEncoder2Path, "second text encoder (text_encoder_2, SDXL)");
            folder.RequireTokenizer(folder.Tokenizer2Directory, "second tokenizer (tokenizer_2, SDXL)");
        }
        folder.Require(folder.UNetPath, "UNet");
        folder.Require(folder.VaeDecoderPath, "VAE decoder");
        folder.Require(folder.SchedulerConfigPath, "scheduler configuration");
        folder.ReadComponentConfigs();
        return folder;
    }

    private void ReadComponentConfigs()
    {
        // Optimum writes each component's diffusers config beside its graph; the v0.12 script writes none.
        string vaeFile = Combine("vae_decoder", "config.json");
        var vae = ReadOptional(vaeFile);
        // Every SD VAE scales by 0.1–1.6 (SD 1.x 0.18215, SDXL 0.13025, SD3 1.5305): 0 gives black images, NaN NaN ones.
        if (ConfigValue.Number(vae, vaeFile, "scaling_factor", MinScalingFactor, MaxScalingFactor,
                $"Stable Diffusion 1.x/2.x use {DefaultScalingFactor}, SDXL 0.13025.") is { } sf)
            ScalingFactor = (float)sf;
        ConfigValue.Number(vae, vaeFile, "shift_factor", -MaxShiftFactor, MaxShiftFactor); // read by later VAEs: reject garbage all the same
        if (ConfigValue.Integers(vae, vaeFile, "block_out_channels", 1, 65536, maxCount: 8) is { } blocks) VaeScaleFactor = 1 << (blocks.Length - 1);
        if (ConfigValue.Boolean(vae, vaeFile, "force_upcast") is { } upcast) VaeForceUpcast = upcast;
        string unetFile = Combine("unet", "config.json");
        var unet = ReadOptional(unetFile);
        // sample_size is the latent size (SD 1.x 64, SDXL 128); past 1024 latents (8192 pixels) no model exists.
        DefaultImageSize = ConfigValue.Integer(unet, unetFile, "sample_size", 1, 1024) is { } size ? size * VaeScaleFactor : 512;
        UNetChannels = (ConfigValue.Integer(unet, unetFile, "in_channels", 1, 256), ConfigValue.Integer(unet, unetFile, "out_channels", 1, 256));
    }

    /// <summary>
    /// The accepted range of a VAE's <c>scaling_factor</c>: published VAEs use 0.1–1.6; the range stays wide (tests and
    /// experiments use tiny factors on purpose) and excludes only 0, negatives and the absurd.
    /// </summary>
    public const double MinScalingFactor = 0.000001, MaxScalingFactor = 100;

    /// <summary>The accepted magnitude of a VAE's <c>shift_factor</c>.</summary>
    public const double MaxShiftFactor = 100;

    private void RequireTokenizer(string directory, string what)
    {
        Require(System.IO.Path.Combine(directory, "vocab.json"), $"{what} vocabulary");
        Require(System.IO.Path.Combine(directory, "merges.txt"), $"{what} merges");
    }

    private void Require(string file, string what)
    {
        if (!File.Exists(file))
            throw new ModelLoadException(ModelLoadError.MissingComponent, file,
                $"The model folder '{Path}' has no {what}: '{file}' is missing. " +
                "Re-export the model or copy the missing component from the original export.");
    }

    private string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    private static JsonObject? ReadOptional(string file) => File.Exists(file) ? ReadObject(file) : null;

    private static JsonObject ReadObject(string file)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(file)) as JsonObject
                ?? throw new JsonException("the top level is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(ModelLoadError.InvalidFile, file, $"'{file}' is not valid JSON: {e.Message}", e);
        }
    }
}
