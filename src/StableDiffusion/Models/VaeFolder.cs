using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableDiffusion.Models;

/// <summary>
/// A replacement VAE (e.g. an ONNX export of stabilityai/sd-vae-ft-mse): a model folder with <c>vae_decoder/</c>
/// (and optional <c>vae_encoder/</c>), or a folder holding the decoder's <c>model.onnx</c> itself.
/// </summary>
public sealed class VaeFolder
{
    private VaeFolder(string path, string decoder, string? encoder, float? scalingFactor)
    {
        Path = path;
        DecoderPath = decoder;
        EncoderPath = encoder;
        ScalingFactor = scalingFactor;
    }

    public string Path { get; }
    public string Name => System.IO.Path.GetFileName(Path.TrimEnd(System.IO.Path.DirectorySeparatorChar));
    public string DecoderPath { get; }
    public string? EncoderPath { get; }

    /// <summary>The VAE config's scaling_factor, when the folder has one.</summary>
    public float? ScalingFactor { get; }

    /// <exception cref="ModelLoadException">No decoder graph is found.</exception>
    public static VaeFolder Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = System.IO.Path.GetFullPath(path);
        ModelFolder.CheckFolderPath(full, "VAE folder", "a VAE folder (vae_decoder/model.onnx or model.onnx inside)");
        string nested = System.IO.Path.Combine(full, "vae_decoder", "model.onnx");
        string flat = System.IO.Path.Combine(full, "model.onnx");
        string decoder = File.Exists(nested) ? nested : File.Exists(flat) ? flat
            : throw new ModelLoadException(ModelLoadError.MissingComponent, nested,
                $"'{full}' holds no VAE decoder: expected vae_decoder/model.onnx (a model folder or a VAE export) or model.onnx.");
        string decoderFolder = System.IO.Path.GetDirectoryName(decoder)!;
        string? encoder = File.Exists(System.IO.Path.Combine(full, "vae_encoder", "model.onnx")) ? System.IO.Path.Combine(full, "vae_encoder", "model.onnx") : null;
        float? scaling = ReadScaling(System.IO.Path.Combine(decoderFolder, "config.json")) ?? ReadScaling(System.IO.Path.Combine(full, "config.json"));
        return new VaeFolder(full, decoder, encoder, scaling);
    }

    private static float? ReadScaling(string file)
    {
        if (!File.Exists(file)) return null;
        JsonObject config;
        try
        {
            config = JsonNode.Parse(File.ReadAllText(file)) as JsonObject ?? throw new JsonException("the top level is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(ModelLoadError.InvalidFile, file, $"'{file}' is not valid JSON: {e.Message}", e);
        }
        // The same range as a model folder's VAE: a replacement VAE is held to the same rule.
        return ConfigValue.Number(config, file, "scaling_factor", ModelFolder.MinScalingFactor, ModelFolder.MaxScalingFactor,
            $"Stable Diffusion 1.x/2.x use {ModelFolder.DefaultScalingFactor}, SDXL 0.13025.") is { } v ? (float)v : null;
    }
}
