using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace StableDiffusion.Models;

/// <summary>
/// What a model_index.json names beyond what this library runs: a pipeline class other than Stable Diffusion (1.x/2.x/XL,
/// text-to-image, image-to-image, inpainting — in their diffusers, ONNX and Optimum spellings), or a component of a
/// class or kind it does not load. Such a folder may still load (its graphs have the right inputs), so these are
/// warnings, not errors: silence would let a Stable Diffusion 3 or ControlNet export produce wrong images unexplained.
/// </summary>
internal static partial class ModelIndexWarnings
{
    [GeneratedRegex(@"^(Onnx|ORT)?StableDiffusion(XL)?(Img2Img|Inpaint)?Pipeline$")]
    private static partial Regex RunnablePipeline();

    /// <summary>The classes each component we load may be written as (diffusers, transformers, ONNX exports).</summary>
    private static readonly Dictionary<string, string[]> LoadedComponents = new(StringComparer.Ordinal)
    {
        ["text_encoder"] = ["OnnxRuntimeModel", "CLIPTextModel", "CLIPTextModelWithProjection"],
        ["text_encoder_2"] = ["OnnxRuntimeModel", "CLIPTextModel", "CLIPTextModelWithProjection"],
        ["tokenizer"] = ["CLIPTokenizer", "CLIPTokenizerFast"],
        ["tokenizer_2"] = ["CLIPTokenizer", "CLIPTokenizerFast"],
        ["unet"] = ["OnnxRuntimeModel", "UNet2DConditionModel"],
        ["vae"] = ["OnnxRuntimeModel", "AutoencoderKL"],
        ["vae_decoder"] = ["OnnxRuntimeModel", "AutoencoderKL"],
        ["vae_encoder"] = ["OnnxRuntimeModel", "AutoencoderKL"],
    };

    /// <summary>Components a Stable Diffusion index may list that we do not run and need not mention; the scheduler's class is checked with its config.</summary>
    private static readonly HashSet<string> QuietComponents = new(StringComparer.Ordinal)
        { "scheduler", "safety_checker", "feature_extractor", "image_encoder" };

    public static IReadOnlyList<string> For(JsonObject index, string file)
    {
        var warnings = new List<string>();
        if (index["_class_name"] is JsonValue v && v.TryGetValue(out string? pipeline) && !RunnablePipeline().IsMatch(pipeline))
            warnings.Add($"'{file}' names the pipeline class '{pipeline}', which this module does not run: it is loaded as a Stable " +
                "Diffusion (1.x/2.x/XL) model, and its images may be wrong if it is another kind of model.");
        foreach (var (component, value) in index)
        {
            if (component.StartsWith('_') || QuietComponents.Contains(component)) continue;
            if (value is not JsonArray { Count: 2 } pair || pair[1] is not JsonValue c || !c.TryGetValue(out string? className)) continue;
            if (!LoadedComponents.TryGetValue(component, out var classes))
                warnings.Add($"'{file}' lists the component '{component}' ({className}), which this module does not use; it is ignored.");
            else if (!classes.Contains(className, StringComparer.Ordinal))
                warnings.Add($"'{file}' gives the component '{component}' the class '{className}', which this module does not know " +
                    $"(expected {string.Join(" or ", classes)}); its folder is loaded as such all the same.");
        }
        return warnings;
    }
}
