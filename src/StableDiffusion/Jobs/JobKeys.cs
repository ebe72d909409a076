using StableDiffusion.Schedulers;

namespace StableDiffusion.Jobs;

/// <summary>The keys a job file knows, level by level, and the closest key to a misspelled one.</summary>
public static class JobKeys
{
    public const string Model = "Model";
    public const string Vae = "Vae";
    public const string Provider = "Provider";
    public const string DeviceId = "DeviceId";
    public const string Precision = "Precision";
    public const string AttentionSlicing = "AttentionSlicing";
    public const string VaeSlicing = "VaeSlicing";
    public const string Scheduler = "Scheduler";
    public const string Defaults = "Defaults";
    public const string Prompts = "Prompts";
    public const string PromptFile = "PromptFile";
    public const string OutputDirectory = "OutputDirectory";
    public const string NameTemplate = "NameTemplate";
    public const string BatchSize = "BatchSize";
    public const string Loras = "Loras";
    public const string LoraPath = "LoraPath";
    public const string EmbeddingPath = "EmbeddingPath";

    public const string Prompt = "Prompt";
    public const string NegativePrompt = "NegativePrompt";
    public const string Seeds = "Seeds";
    public const string ImagesPerPrompt = "ImagesPerPrompt";
    public const string Steps = "Steps";
    public const string GuidanceScale = "GuidanceScale";
    public const string GuidanceRescale = "GuidanceRescale";
    public const string Eta = "Eta";
    public const string Width = "Width";
    public const string Height = "Height";
    public const string InitImage = "InitImage";
    public const string Mask = "Mask";
    public const string Strength = "Strength";
    public const string MaskCropPadding = "MaskCropPadding";
    public const string Prompt2 = "Prompt2";
    public const string NegativePrompt2 = "NegativePrompt2";
    public const string ClipSkip = "ClipSkip";
    public const string OriginalSize = "OriginalSize";
    public const string CropTopLeft = "CropTopLeft";
    public const string TargetSize = "TargetSize";
    public const string NegativeOriginalSize = "NegativeOriginalSize";
    public const string NegativeCropTopLeft = "NegativeCropTopLeft";
    public const string NegativeTargetSize = "NegativeTargetSize";
    public const string AestheticScore = "AestheticScore";
    public const string PromptSyntax = "PromptSyntax";
    public const string Emphasis = "Emphasis";
    public const string PadCondUncond = "PadCondUncond";
    public const string NegativeAestheticScore = "NegativeAestheticScore";

    /// <summary>The prompt syntax settings a prompt or Defaults may carry (keys of both levels).</summary>
    private static readonly string[] A1111 = [PromptSyntax, Emphasis, PadCondUncond];

    /// <summary>The SDXL settings a prompt or Defaults may carry (keys of both levels).</summary>
    private static readonly string[] Sdxl =
        [Prompt2, NegativePrompt2, ClipSkip, OriginalSize, CropTopLeft, TargetSize, NegativeOriginalSize, NegativeCropTopLeft, NegativeTargetSize,
         AestheticScore, NegativeAestheticScore];

    /// <summary>Top-level keys.</summary>
    public static IReadOnlyList<string> TopLevel { get; } =
        [Model, Vae, Provider, DeviceId, Precision, AttentionSlicing, VaeSlicing, Scheduler, Defaults, Prompts, PromptFile, OutputDirectory, NameTemplate, BatchSize, Loras, LoraPath, EmbeddingPath];

    /// <summary>Keys of a prompt table (and the columns of a prompt CSV file).</summary>
    public static IReadOnlyList<string> PromptLevel { get; } =
        [Prompt, NegativePrompt, Seeds, ImagesPerPrompt, Steps, GuidanceScale, GuidanceRescale, Eta, Width, Height, Scheduler, InitImage, Mask, Strength, MaskCropPadding, .. A1111, .. Sdxl];

    /// <summary>Keys of the Defaults table: a prompt's keys except the prompt itself and the scheduler (set at the top).</summary>
    public static IReadOnlyList<string> DefaultsLevel { get; } =
        [NegativePrompt, Seeds, ImagesPerPrompt, Steps, GuidanceScale, GuidanceRescale, Eta, Width, Height, InitImage, Mask, Strength, MaskCropPadding, .. A1111, .. Sdxl];

    /// <summary>Other spellings accepted for a key (the cmdlets' parameter names and common short forms).</summary>
    public static IReadOnlyDictionary<string, string> Aliases { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["executionprovider"] = Provider,
        ["seed"] = Seeds,
        ["guidance"] = GuidanceScale,
        ["cfgscale"] = GuidanceScale,
        ["modelpath"] = Model,
        ["vaepath"] = Vae,
        ["image"] = InitImage,
        ["maskimage"] = Mask,
        ["denoisingstrength"] = Strength,
        ["paddingmaskcrop"] = MaskCropPadding,
        ["cropscoordstopleft"] = CropTopLeft,
        ["negativecropscoordstopleft"] = NegativeCropTopLeft,
    };

    /// <summary>The canonical key for <paramref name="key"/> among <paramref name="known"/> (aliases included), or null.</summary>
    public static string? Canonical(string key, IReadOnlyList<string> known)
    {
        string n = JobDocument.NormalizeKey(key);
        foreach (var k in known)
            if (JobDocument.NormalizeKey(k) == n) return k;
        return Aliases.TryGetValue(n, out var target) && known.Contains(target) ? target : null;
    }

    /// <summary>The known key closest to a misspelled one, if one is close enough to be a likely typo.</summary>
    public static string? Closest(string key, IReadOnlyList<string> known)
    {
        string n = JobDocument.NormalizeKey(key);
        if (n.Length == 0) return null;
        var candidates = known.Select(k => (Key: k, Norm: JobDocument.NormalizeKey(k)))
            .Concat(Aliases.Where(a => known.Contains(a.Value)).Select(a => (Key: a.Value, Norm: a.Key)));
        var best = candidates
            .Select(c => (c.Key, c.Norm, Distance: SchedulerRegistry.EditDistance(n, c.Norm)))
            .OrderBy(c => c.Distance).ThenBy(c => c.Key, StringComparer.Ordinal)
            .First();
        if (best.Distance <= Math.Max(2, n.Length / 4)) return best.Key;
        // A shortened key ("OutputDir", "Neg") is a likely slip too.
        var prefix = candidates.FirstOrDefault(c => n.Length >= 3 && c.Norm.StartsWith(n, StringComparison.Ordinal));
        return prefix.Key;
    }
}
