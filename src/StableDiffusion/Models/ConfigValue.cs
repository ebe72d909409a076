using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableDiffusion.Models;

/// <summary>
/// Reads numbers from a model's config files (vae, unet, scheduler) and rejects what would only show later as black
/// images or raw exceptions: a non-number, NaN/Infinity, or a value outside the range any real model uses. Each error
/// names the file, the key, the value and the accepted range.
/// </summary>
public static class ConfigValue
{
    /// <summary>The number at <paramref name="key"/>, null when absent or JSON null.</summary>
    /// <exception cref="ModelLoadException">Not a finite number in [<paramref name="min"/>, <paramref name="max"/>].</exception>
    public static double? Number(JsonObject? config, string file, string key, double min, double max, string? hint = null)
    {
        if (config?[key] is not { } node) return null;
        // A number too large for a double (1e999) does not read, or reads as Infinity: both are rejected here.
        if (node.GetValueKind() != JsonValueKind.Number || !node.AsValue().TryGetValue(out double value)
            || !double.IsFinite(value) || value < min || value > max)
            throw Invalid(file, key, node, $"a finite number from {Format(min)} to {Format(max)}", hint);
        return value;
    }

    /// <summary>The integer at <paramref name="key"/>, null when absent or JSON null.</summary>
    /// <exception cref="ModelLoadException">Not an integer in [<paramref name="min"/>, <paramref name="max"/>].</exception>
    public static int? Integer(JsonObject? config, string file, string key, int min, int max, string? hint = null)
    {
        if (config?[key] is not { } node) return null;
        if (node.GetValueKind() != JsonValueKind.Number || !node.AsValue().TryGetValue(out long value) || value < min || value > max)
            throw Invalid(file, key, node, $"a whole number from {min} to {max}", hint);
        return (int)value;
    }

    /// <summary>The boolean at <paramref name="key"/>, null when absent or JSON null.</summary>
    public static bool? Boolean(JsonObject? config, string file, string key)
    {
        if (config?[key] is not { } node) return null;
        return node.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(file, key, node, "true or false", null),
        };
    }

    /// <summary>The string at <paramref name="key"/>, null when absent or JSON null.</summary>
    public static string? Text(JsonObject? config, string file, string key)
    {
        if (config?[key] is not { } node) return null;
        return node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : throw Invalid(file, key, node, "a string", null);
    }

    /// <summary>The array of integers at <paramref name="key"/> (each in range, at least one), null when absent.</summary>
    public static int[]? Integers(JsonObject? config, string file, string key, int min, int max, int maxCount)
    {
        if (config?[key] is not { } node) return null;
        string accepted = $"an array of 1 to {maxCount} whole numbers from {min} to {max}";
        if (node is not JsonArray array || array.Count == 0 || array.Count > maxCount) throw Invalid(file, key, node, accepted, null);
        var result = new int[array.Count];
        for (int i = 0; i < array.Count; i++)
        {
            if (array[i] is not { } item || item.GetValueKind() != JsonValueKind.Number || !item.AsValue().TryGetValue(out long v) || v < min || v > max)
                throw Invalid(file, key, node, accepted, null);
            result[i] = (int)v;
        }
        return result;
    }

    private static ModelLoadException Invalid(string file, string key, JsonNode node, string accepted, string? hint) =>
        new(ModelLoadError.InvalidFile, file,
            $"'{file}': \"{key}\" is {Shorten(node.ToJsonString())}; it must be {accepted}.{(hint is null ? "" : " " + hint)} " +
            "Fix the value (or remove the key to use the default) or re-export the model.");

    /// <summary>A bound as people write it (0.000001, not 1E-06), whatever the culture.</summary>
    private static string Format(double value) => value.ToString("0.##########", System.Globalization.CultureInfo.InvariantCulture);

    private static string Shorten(string json) => json.Length > 60 ? json[..57] + "..." : json;
}
