using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Everything needed to regenerate an image, as written into its PNG: the <c>parameters</c> text chunk in the
/// AUTOMATIC1111 layout that other tools read, plus our exact JSON form.
/// </summary>
public sealed record GenerationParameters
{
    public required string Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public long Seed { get; init; }
    public int Steps { get; init; }
    public float GuidanceScale { get; init; }
    public float GuidanceRescale { get; init; }
    public float Eta { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }
    public string? Scheduler { get; init; }
    public IReadOnlyDictionary<string, object?>? SchedulerOptions { get; init; }
    public string? Model { get; init; }
    public string? Precision { get; init; }
    public int Index { get; init; }

    /// <summary>The PNG text chunk key other tools read.</summary>
    public const string TextKey = "parameters";

    /// <summary>The PNG text chunk key of the exact JSON form.</summary>
    public const string JsonKey = "sd-parameters";

    public static GenerationParameters From(GenerationResult result) => new()
    {
        Prompt = result.Request.Prompt,
        NegativePrompt = result.Request.NegativePrompt,
        Seed = result.Request.Seed,
        Index = result.Request.Index,
        Steps = result.Settings.Steps,
        GuidanceScale = result.Settings.GuidanceScale,
        GuidanceRescale = result.Settings.GuidanceRescale,
        Eta = result.Settings.Eta,
        Width = result.Width,
        Height = result.Height,
        Scheduler = result.Scheduler,
        SchedulerOptions = result.SchedulerOptions,
        Model = result.Model,
        Precision = result.Precision,
    };

    /// <summary>AUTOMATIC1111 layout: prompt, "Negative prompt: …", then "Key: value, …".</summary>
    public string ToText()
    {
        var sb = new StringBuilder(Prompt);
        if (!string.IsNullOrEmpty(NegativePrompt)) sb.Append("\nNegative prompt: ").Append(NegativePrompt);
        var fields = new List<string>
        {
            $"Steps: {Steps}",
            $"Sampler: {Scheduler}",
            $"CFG scale: {F(GuidanceScale)}",
            $"Seed: {Seed}",
            $"Size: {Width}x{Height}",
            $"Model: {Model}",
        };
        if (Eta != 0) fields.Add($"Eta: {F(Eta)}");
        if (GuidanceRescale != 0) fields.Add($"CFG rescale: {F(GuidanceRescale)}");
        if (SchedulerOptions is { Count: > 0 })
            fields.Add($"Scheduler options: {Quote(OptionsJson().ToJsonString())}");
        if (Precision is not null) fields.Add($"Precision: {Precision}");
        sb.Append('\n').Append(string.Join(", ", fields));
        return sb.ToString();
    }

    public string ToJson() => new JsonObject
    {
        ["prompt"] = Prompt,
        ["negative_prompt"] = NegativePrompt,
        ["seed"] = Seed,
        ["index"] = Index,
        ["steps"] = Steps,
        ["guidance_scale"] = GuidanceScale,
        ["guidance_rescale"] = GuidanceRescale,
        ["eta"] = Eta,
        ["width"] = Width,
        ["height"] = Height,
        ["scheduler"] = Scheduler,
        ["scheduler_options"] = OptionsJson(),
        ["model"] = Model,
        ["precision"] = Precision,
    }.ToJsonString();

    private JsonObject OptionsJson()
    {
        var obj = new JsonObject();
        foreach (var (k, v) in SchedulerOptions ?? new Dictionary<string, object?>())
            obj[k] = v is JsonNode n ? n.DeepClone() : JsonSerializer.SerializeToNode(v);
        return obj;
    }

    private static string F(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Quote(string s) => s.Contains(',') ? JsonSerializer.Serialize(s) : s;
}
