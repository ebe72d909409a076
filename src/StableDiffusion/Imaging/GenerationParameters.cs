using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using StableDiffusion.Pipeline;
using StableDiffusion.Prompts;

namespace StableDiffusion.Imaging;

/// <summary>
/// Everything needed to regenerate an image, as written into its PNG: the <c>parameters</c> text chunk in the
/// AUTOMATIC1111 layout that other tools read, plus our exact JSON form.
/// </summary>
public sealed partial record GenerationParameters
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
    public string? Vae { get; init; }
    public string? Precision { get; init; }
    public int Index { get; init; }

    /// <summary>The init image (image-to-image, inpainting): its file name and pixel hash; null for text-to-image.</summary>
    public SourceImageRecord? InitImage { get; init; }

    /// <summary>The inpainting mask: its file name and pixel hash; null without one.</summary>
    public SourceImageRecord? Mask { get; init; }

    /// <summary>The strength in effect (diffusers' <c>strength</c>; A1111's "Denoising strength"); null for text-to-image.</summary>
    public double? Strength { get; init; }

    /// <summary>diffusers' <c>padding_mask_crop</c>, or null (the whole image is inpainted).</summary>
    public int? MaskCropPadding { get; init; }

    /// <summary>SDXL's prompt for the second text encoder (<c>prompt_2</c>) when it differs from the prompt, else null.</summary>
    public string? Prompt2 { get; init; }

    /// <summary>SDXL's <c>negative_prompt_2</c> when it differs from the negative prompt, else null.</summary>
    public string? NegativePrompt2 { get; init; }

    /// <summary>
    /// Clip skip (A1111's "Clip skip" is diffusers' <c>clip_skip</c> + 1), SDXL micro-conditioning and the refiner's aesthetic
    /// scores, as given (each null: diffusers' default).
    /// </summary>
    public SdxlConditioning Conditioning { get; init; } = SdxlConditioning.None;

    /// <summary>How the prompts were read. An A1111 infotext without our "Prompt syntax" field is A1111 syntax: that is what its author wrote.</summary>
    public PromptSyntax PromptSyntax { get; init; }

    /// <summary>The A1111 emphasis mode and padding option the prompts were encoded with (meaningful for A1111 syntax only).</summary>
    public A1111Options A1111 { get; init; } = A1111Options.Default;

    /// <summary>diffusers' <c>denoising_start</c> / <c>denoising_end</c>, or null.</summary>
    public double? DenoisingStart { get; init; }
    public double? DenoisingEnd { get; init; }

    /// <summary>The LoRAs the image was rendered with, <c>name:weight (short sha256), …</c> (a render job's Loras), or null.</summary>
    public string? Loras { get; init; }

    /// <summary>The PNG text chunk key other tools read.</summary>
    public const string TextKey = "parameters";

    /// <summary>The PNG text chunk key of the exact JSON form.</summary>
    public const string JsonKey = "sd-parameters";

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
        if (Vae is not null) fields.Add($"VAE: {Vae}");
        if (Eta != 0) fields.Add($"Eta: {F(Eta)}");
        if (GuidanceRescale != 0) fields.Add($"CFG rescale: {F(GuidanceRescale)}");
        if (SchedulerOptions is { Count: > 0 })
            fields.Add($"Scheduler options: {Quote(OptionsJson().ToJsonString())}");
        if (Precision is not null) fields.Add($"Precision: {Precision}");
        if (Strength is { } strength) fields.Add($"Denoising strength: {F(strength)}");
        if (InitImage is not null) fields.Add($"Init image: {Quote(InitImage.ToString())}");
        if (Mask is not null) fields.Add($"Mask: {Quote(Mask.ToString())}");
        if (MaskCropPadding is { } padding) fields.Add($"Mask crop padding: {padding.ToString(CultureInfo.InvariantCulture)}");
        if (Loras is not null) fields.Add($"Loras: {Quote(Loras)}");
        AddSdxlFields(fields);
        sb.Append('\n').Append(string.Join(", ", fields));
        return sb.ToString();
    }

    /// <summary>The PNG text chunks that record these parameters: both forms, under <see cref="TextKey"/> and <see cref="JsonKey"/>.</summary>
    public Dictionary<string, string> ToPngText() => new() { [TextKey] = ToText(), [JsonKey] = ToJson() };

    public string ToJson()
    {
        var o = new JsonObject
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
            ["vae"] = Vae,
            ["precision"] = Precision,
            ["init_image"] = InitImage?.ToJson(),
            ["mask"] = Mask?.ToJson(),
            ["strength"] = Strength,
            ["mask_crop_padding"] = MaskCropPadding,
        };
        if (Loras is not null) o["loras"] = Loras;
        AddSdxlJson(o);
        return o.ToJsonString();
    }

    /// <summary>The SDXL and clip-skip fields of the text form, each only when set (A1111 writes "Clip skip" as layers used from the end: ours + 1).</summary>
    private void AddSdxlFields(List<string> fields)
    {
        if (Prompt2 is not null) fields.Add($"Prompt 2: {JsonSerializer.Serialize(Prompt2)}");
        if (NegativePrompt2 is not null) fields.Add($"Negative prompt 2: {JsonSerializer.Serialize(NegativePrompt2)}");
        if (Conditioning.ClipSkip is { } skip) fields.Add($"Clip skip: {(skip + 1).ToString(CultureInfo.InvariantCulture)}");
        // Always written: a text form without it is read as an A1111 infotext. The A1111 options under A1111's own names.
        fields.Add($"Prompt syntax: {PromptSyntax}");
        if (PromptSyntax == PromptSyntax.A1111 && A1111.Emphasis != EmphasisMode.Original) fields.Add($"Emphasis: {EmphasisName(A1111.Emphasis)}");
        if (PromptSyntax == PromptSyntax.A1111 && A1111.PadCondUncond) fields.Add("Pad conds: True");
        foreach (var (key, _, value) in SdxlPairs())
            if (value is not null) fields.Add($"{key}: {JsonSerializer.Serialize(value.ToString())}");
        foreach (var (key, _, value) in SdxlNumbers())
            if (value is { } v) fields.Add($"{key}: {F(v)}");
    }

    /// <summary>
    /// Adds the SDXL and clip-skip settings that are set to <paramref name="o"/> under diffusers' argument names (none for an
    /// SD 1.x/2.x image): our JSON form, render identities and output checks share it.
    /// </summary>
    public void AddSdxlJson(JsonObject o)
    {
        if (Prompt2 is not null) o["prompt_2"] = Prompt2;
        if (NegativePrompt2 is not null) o["negative_prompt_2"] = NegativePrompt2;
        if (Conditioning.ClipSkip is { } skip) o["clip_skip"] = skip;
        if (PromptSyntax == PromptSyntax.A1111)
        {
            // Only for A1111 prompts, so that a plain image's JSON and render identity stay as they were.
            o["prompt_syntax"] = PromptSyntax.ToString();
            o["emphasis"] = A1111.Emphasis.ToString();
            o["pad_cond_uncond"] = A1111.PadCondUncond;
        }
        foreach (var (_, key, value) in SdxlPairs())
            if (value is { } pair) o[key] = new JsonArray(pair.A, pair.B);
        foreach (var (_, key, value) in SdxlNumbers())
            if (value is { } v) o[key] = v;
    }

    /// <summary>The (height, width) and (top, left) settings: text key, JSON key (diffusers' argument), value as its two numbers.</summary>
    private IEnumerable<(string Text, string Json, Pair? Value)> SdxlPairs() =>
    [
        ("Original size", "original_size", Pair.Of(Conditioning.OriginalSize)),
        ("Crop top left", "crops_coords_top_left", Pair.Of(Conditioning.CropTopLeft)),
        ("Target size", "target_size", Pair.Of(Conditioning.TargetSize)),
        ("Negative original size", "negative_original_size", Pair.Of(Conditioning.NegativeOriginalSize)),
        ("Negative crop top left", "negative_crops_coords_top_left", Pair.Of(Conditioning.NegativeCropTopLeft)),
        ("Negative target size", "negative_target_size", Pair.Of(Conditioning.NegativeTargetSize)),
    ];

    private IEnumerable<(string Text, string Json, double? Value)> SdxlNumbers() =>
    [
        ("Aesthetic score", "aesthetic_score", Conditioning.AestheticScore),
        ("Negative aesthetic score", "negative_aesthetic_score", Conditioning.NegativeAestheticScore),
        ("Denoising start", "denoising_start", DenoisingStart),
        ("Denoising end", "denoising_end", DenoisingEnd),
    ];

    /// <summary>Two numbers in diffusers' order, written "(a, b)" in the text form and [a, b] in JSON.</summary>
    private readonly record struct Pair(int A, int B)
    {
        public static Pair? Of(HeightWidth? v) => v is { } x ? new Pair(x.Height, x.Width) : null;
        public static Pair? Of(TopLeft? v) => v is { } x ? new Pair(x.Top, x.Left) : null;
        public override string ToString() => $"({A}, {B})";
    }

    /// <summary>These parameters with the SDXL fields read by <paramref name="read"/> (text key, JSON key → its value or null).</summary>
    private GenerationParameters WithSdxl(Func<string, string, object?> read, bool a1111ClipSkip)
    {
        HeightWidth? Size(string text, string json) => read(text, json) is { } v ? HeightWidth.Parse(v, text) : null;
        TopLeft? Crop(string text, string json) => read(text, json) is { } v ? TopLeft.Parse(v, text) : null;
        double? Number(string text, string json) => read(text, json) switch
        {
            null => null,
            string s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : throw new FormatException($"'{text}: {s}' is not a number."),
            JsonNode n => n.GetValue<double>(),
            var other => Convert.ToDouble(other, CultureInfo.InvariantCulture),
        };
        int? skip = Number("Clip skip", "clip_skip") is { } c ? (int)c - (a1111ClipSkip ? 1 : 0) : null;
        return this with
        {
            Prompt2 = read("Prompt 2", "prompt_2") is { } p2 ? Text(p2) : null,
            NegativePrompt2 = read("Negative prompt 2", "negative_prompt_2") is { } n2 ? Text(n2) : null,
            Conditioning = new SdxlConditioning
            {
                ClipSkip = skip,
                OriginalSize = Size("Original size", "original_size"),
                CropTopLeft = Crop("Crop top left", "crops_coords_top_left"),
                TargetSize = Size("Target size", "target_size"),
                NegativeOriginalSize = Size("Negative original size", "negative_original_size"),
                NegativeCropTopLeft = Crop("Negative crop top left", "negative_crops_coords_top_left"),
                NegativeTargetSize = Size("Negative target size", "negative_target_size"),
                AestheticScore = Number("Aesthetic score", "aesthetic_score"),
                NegativeAestheticScore = Number("Negative aesthetic score", "negative_aesthetic_score"),
            },
            DenoisingStart = Number("Denoising start", "denoising_start"),
            DenoisingEnd = Number("Denoising end", "denoising_end"),
        };

        static string Text(object v) => v is JsonNode n ? n.GetValue<string>() : v.ToString()!;
    }

    private JsonObject OptionsJson()
    {
        var obj = new JsonObject();
        foreach (var (k, v) in SchedulerOptions ?? new Dictionary<string, object?>())
            obj[k] = v is JsonNode n ? n.DeepClone() : JsonSerializer.SerializeToNode(v);
        return obj;
    }

    /// <summary>Reads our JSON form (exact) or, failing that, AUTOMATIC1111-style text.</summary>
    /// <exception cref="FormatException">Neither form can be read.</exception>
    public static GenerationParameters Parse(IReadOnlyDictionary<string, string> pngText)
    {
        if (pngText.TryGetValue(JsonKey, out var json)) return FromJson(json);
        if (pngText.TryGetValue(TextKey, out var text)) return FromText(text);
        throw new FormatException($"The image has no '{TextKey}' text chunk: it does not record how it was generated.");
    }

    public static GenerationParameters FromJson(string json)
    {
        JsonObject o;
        try { o = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("not a JSON object"); }
        catch (JsonException e) { throw new FormatException($"The '{JsonKey}' chunk is not valid JSON: {e.Message}", e); }
        var options = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        if (o["scheduler_options"] is JsonObject so)
            foreach (var (k, v) in so) options[k] = v?.DeepClone();
        return new GenerationParameters
        {
            Prompt = o["prompt"]?.GetValue<string>() ?? throw new FormatException($"The '{JsonKey}' chunk has no prompt."),
            NegativePrompt = o["negative_prompt"]?.GetValue<string>(),
            Seed = o["seed"]?.GetValue<long>() ?? 0,
            Index = o["index"]?.GetValue<int>() ?? 0,
            Steps = o["steps"]?.GetValue<int>() ?? 0,
            GuidanceScale = o["guidance_scale"]?.GetValue<float>() ?? 0,
            GuidanceRescale = o["guidance_rescale"]?.GetValue<float>() ?? 0,
            Eta = o["eta"]?.GetValue<float>() ?? 0,
            Width = o["width"]?.GetValue<int>() ?? 0,
            Height = o["height"]?.GetValue<int>() ?? 0,
            Scheduler = o["scheduler"]?.GetValue<string>(),
            SchedulerOptions = options,
            Model = o["model"]?.GetValue<string>(),
            Vae = o["vae"]?.GetValue<string>(),
            Precision = o["precision"]?.GetValue<string>(),
            InitImage = SourceImageRecord.FromJson(o["init_image"], "init_image"),
            Mask = SourceImageRecord.FromJson(o["mask"], "mask"),
            Loras = o["loras"]?.GetValue<string>(),
            Strength = o["strength"]?.GetValue<double>(),
            MaskCropPadding = o["mask_crop_padding"]?.GetValue<int>(),
        }.WithSdxl((_, key) => o[key] switch
        {
            null => null,
            JsonArray a => a.Select(x => (object?)x!.GetValue<int>()).ToArray(),
            var n => n,
        }, a1111ClipSkip: false) with
        {
            PromptSyntax = o["prompt_syntax"]?.GetValue<string>() is { } syntax ? ParseSyntax(syntax) : PromptSyntax.Plain,
            A1111 = new A1111Options
            {
                Emphasis = o["emphasis"]?.GetValue<string>() is { } emphasis ? ParseEmphasis(emphasis) : EmphasisMode.Original,
                PadCondUncond = o["pad_cond_uncond"]?.GetValue<bool>() ?? false,
            },
        };
    }

    /// <summary>A recorded seed: a whole number of 0 to 2^63 − 1 (a larger one would not regenerate the image), else FormatException.</summary>
    private static long ParseSeed(string text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long seed) && seed >= 0 ? seed
            : throw new FormatException($"The recorded seed '{text}' is not a seed of 0 to {long.MaxValue}.");

    /// <summary>
    /// AUTOMATIC1111's layout: the prompt, an optional "Negative prompt: …" (both may span lines), then one line of
    /// "Key: value" pairs (values with commas are JSON-quoted). A "Schedule type: Karras" field is folded into the
    /// sampler name ("DPM++ 2M" + Karras → "DPM++ 2M Karras"), which the scheduler registry knows. "Denoising strength"
    /// is the strength (except beside "Hires …" fields, where it is the hires fix's); "Init image", "Mask" and "Mask crop
    /// padding" are ours.
    /// </summary>
    public static GenerationParameters FromText(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        int settingsLine = Array.FindLastIndex(lines, l => SettingsLine().IsMatch(l));
        if (settingsLine < 0) throw new FormatException("The 'parameters' text has no settings line (\"Steps: …, Seed: …\").");
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (Match m in Field().Matches(lines[settingsLine]))
        {
            string value = m.Groups["value"].Value.Trim();
            if (value.StartsWith('"')) value = JsonSerializer.Deserialize<string>(value) ?? "";
            fields[m.Groups["key"].Value.Trim()] = value;
        }
        var prompt = new StringBuilder();
        var negative = new StringBuilder();
        bool inNegative = false;
        for (int i = 0; i < settingsLine; i++)
        {
            string line = lines[i];
            if (line.StartsWith("Negative prompt:", StringComparison.Ordinal)) { inNegative = true; line = line["Negative prompt:".Length..].TrimStart(); }
            var target = inNegative ? negative : prompt;
            if (target.Length > 0) target.Append('\n');
            target.Append(line);
        }
        string? sampler = fields.GetValueOrDefault("Sampler");
        if (sampler is not null && fields.TryGetValue("Schedule type", out var schedule) && schedule.Equals("Karras", StringComparison.OrdinalIgnoreCase)
            && !sampler.EndsWith("Karras", StringComparison.OrdinalIgnoreCase))
            sampler += " Karras";
        int width = 0, height = 0;
        if (fields.TryGetValue("Size", out var size))
        {
            var parts = size.Split('x');
            if (parts.Length != 2 || !int.TryParse(parts[0], out width) || !int.TryParse(parts[1], out height))
                throw new FormatException($"The size '{size}' is not WIDTHxHEIGHT.");
        }
        var options = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        if (fields.TryGetValue("Scheduler options", out var json) && JsonNode.Parse(json) is JsonObject so)
            foreach (var (k, v) in so) options[k] = v?.DeepClone();
        return new GenerationParameters
        {
            Prompt = prompt.ToString(),
            NegativePrompt = negative.Length > 0 ? negative.ToString() : null,
            Steps = Int(fields, "Steps") ?? 0,
            Seed = fields.TryGetValue("Seed", out var seed) ? ParseSeed(seed) : 0,
            GuidanceScale = Float(fields, "CFG scale") ?? 0,
            GuidanceRescale = Float(fields, "CFG rescale") ?? 0,
            Eta = Float(fields, "Eta") ?? Float(fields, "Eta DDIM") ?? 0,
            Width = width,
            Height = height,
            Scheduler = sampler,
            SchedulerOptions = options,
            Model = fields.GetValueOrDefault("Model"),
            Vae = fields.GetValueOrDefault("VAE"),
            Precision = fields.GetValueOrDefault("Precision"),
            // A1111 writes "Denoising strength" for image-to-image, and for the hires fix of text-to-image, which is not ours.
            Strength = fields.Keys.Any(k => k.StartsWith("Hires ", StringComparison.OrdinalIgnoreCase)) ? null : Double(fields, "Denoising strength"),
            InitImage = fields.TryGetValue("Init image", out var init) ? SourceImageRecord.Parse(init, "Init image") : null,
            Mask = fields.TryGetValue("Mask", out var mask) ? SourceImageRecord.Parse(mask, "Mask") : null,
            Loras = fields.TryGetValue("Loras", out var loras) ? loras : null,
            MaskCropPadding = Int(fields, "Mask crop padding"),
            // Our text form records the syntax; any other infotext is A1111's, whose prompts are in its syntax.
            PromptSyntax = fields.TryGetValue("Prompt syntax", out var syntax) ? ParseSyntax(syntax) : PromptSyntax.A1111,
            A1111 = new A1111Options
            {
                Emphasis = fields.TryGetValue("Emphasis", out var emphasis) ? ParseEmphasis(emphasis) : EmphasisMode.Original,
                PadCondUncond = fields.TryGetValue("Pad conds", out var pad) && pad.Equals("True", StringComparison.OrdinalIgnoreCase),
            },
        }.WithSdxl((key, _) => fields.GetValueOrDefault(key), a1111ClipSkip: true);
    }

    private static PromptSyntax ParseSyntax(string text) =>
        Enum.TryParse(text, ignoreCase: true, out PromptSyntax syntax) && Enum.IsDefined(syntax) ? syntax
            : throw new FormatException($"The recorded prompt syntax '{text}' is not Plain or A1111.");

    /// <summary>A1111's emphasis names ("Original", "No norm", "Ignore", "None") or ours (NoNorm).</summary>
    private static EmphasisMode ParseEmphasis(string text) =>
        Enum.TryParse(text.Replace(" ", "", StringComparison.Ordinal), ignoreCase: true, out EmphasisMode mode) && Enum.IsDefined(mode) ? mode
            : throw new FormatException($"The recorded emphasis '{text}' is not Original, No norm, Ignore or None.");

    private static string EmphasisName(EmphasisMode mode) => mode == EmphasisMode.NoNorm ? "No norm" : mode.ToString();

    private static int? Int(Dictionary<string, string> f, string key) =>
        f.TryGetValue(key, out var v) ? int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : throw new FormatException($"'{key}: {v}' is not an integer.") : null;

    private static double? Double(Dictionary<string, string> f, string key) =>
        f.TryGetValue(key, out var v) ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : throw new FormatException($"'{key}: {v}' is not a number.") : null;

    private static float? Float(Dictionary<string, string> f, string key) =>
        f.TryGetValue(key, out var v) ? float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : throw new FormatException($"'{key}: {v}' is not a number.") : null;

    [GeneratedRegex(@"(^|, )Steps: \d+")]
    private static partial Regex SettingsLine();

    // A1111's own pattern: key, colon, then a JSON-quoted string or anything up to the next comma.
    [GeneratedRegex(@"\s*(?<key>\w[\w \-/+()]*):\s*(?<value>""(?:\\.|[^\\""])+""|[^,]*)(?:,|$)")]
    private static partial Regex Field();

    private static string F(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Quote(string s) => s.Contains(',') ? JsonSerializer.Serialize(s) : s;
}

/// <summary>
/// An input image as metadata records it: the file name it was read from (no folder; null for an in-memory image) and
/// the SHA-256 of its pixels (<see cref="SourceImage.Sha256"/>), which says whether a file is still that image.
/// Text form: <c>name.png (sha256:…)</c>, or <c>sha256:…</c> without a name.
/// </summary>
public sealed partial record SourceImageRecord(string? FileName, string Sha256)
{
    /// <summary>What the metadata of an image generated from <paramref name="image"/> records (the file name only).</summary>
    public static SourceImageRecord? From(SourceImage? image) =>
        image is null ? null : new(image.FileName is { } f ? Path.GetFileName(f) : null, image.Sha256);

    public override string ToString() => FileName is null ? $"sha256:{Sha256}" : $"{FileName} (sha256:{Sha256})";

    internal JsonObject ToJson() => new() { ["name"] = FileName, ["sha256"] = Sha256 };

    internal static SourceImageRecord? FromJson(JsonNode? node, string key)
    {
        if (node is null) return null;
        if (node is not JsonObject o || o["sha256"]?.GetValue<string>() is not { } sha)
            throw new FormatException($"The '{key}' record must be an object with name and sha256.");
        return new SourceImageRecord(o["name"]?.GetValue<string>(), sha);
    }

    /// <exception cref="FormatException">The text is neither form.</exception>
    public static SourceImageRecord Parse(string text, string key)
    {
        var m = TextForm().Match(text.Trim());
        if (!m.Success) throw new FormatException($"'{key}: {text}' is not 'name (sha256:…)'.");
        return new SourceImageRecord(m.Groups["name"].Success && m.Groups["name"].Value.Length > 0 ? m.Groups["name"].Value : null,
            m.Groups["sha"].Value.ToLowerInvariant());
    }

    [GeneratedRegex(@"^(?:(?<name>.*?)\s*\(sha256:(?<sha>[0-9a-fA-F]{64})\)|sha256:(?<sha>[0-9a-fA-F]{64}))$")]
    private static partial Regex TextForm();
}
