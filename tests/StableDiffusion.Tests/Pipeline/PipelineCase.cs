using System.Text.Json;
using System.Text.RegularExpressions;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>One whole-pipeline reference case of expected/pipeline*/manifest.json.</summary>
public sealed class PipelineCase
{
    private readonly JsonElement _case;

    private PipelineCase(string manifestFolder, JsonElement element)
    {
        ManifestFolder = manifestFolder;
        _case = element;
        Id = element.GetProperty("id").GetString()!;
    }

    public string ManifestFolder { get; }
    public string Id { get; }

    /// <summary>The case's manifest entry, for fields the typed properties do not cover (img2img/inpaint cases).</summary>
    public JsonElement Raw => _case;

    /// <summary>A path relative to the manifest folder (input images: "inputs/img_64x64.png").</summary>
    public string FixturePath(string relative) => Path.Combine(ManifestFolder, relative);
    public string SchedulerClass => _case.GetProperty("scheduler").GetProperty("class").GetString()!;
    public int Steps => _case.GetProperty("num_inference_steps").GetInt32();
    public float GuidanceScale => (float)_case.GetProperty("guidance_scale").GetDouble();
    public float GuidanceRescale => _case.TryGetProperty("guidance_rescale", out var g) ? (float)g.GetDouble() : 0f;
    public float Eta => (float)_case.GetProperty("eta").GetDouble();
    public int Width => _case.GetProperty("width").GetInt32();
    public int Height => _case.GetProperty("height").GetInt32();

    /// <summary>The case's from_config overrides (empty for the 0.12 manifest, which has none).</summary>
    public Dictionary<string, object?> SchedulerOverrides
    {
        get
        {
            var result = new Dictionary<string, object?>();
            if (_case.GetProperty("scheduler").TryGetProperty("from_config_overrides", out var o) && o.ValueKind == JsonValueKind.Object)
                foreach (var p in o.EnumerateObject()) result[p.Name] = p.Value.Clone();
            return result;
        }
    }

    public IReadOnlyList<ImageRequest> Requests
    {
        get
        {
            var prompts = Strings(_case.GetProperty("prompt"));
            var negatives = _case.TryGetProperty("negative_prompt", out var n) ? Strings(n) : [];
            var seedsElement = _case.GetProperty("seed");
            long[] seeds = seedsElement.ValueKind == JsonValueKind.Array
                ? seedsElement.EnumerateArray().Select(e => e.GetInt64()).ToArray()
                : [seedsElement.GetInt64()];
            int perPrompt = _case.GetProperty("num_images_per_prompt").GetInt32();
            Assert.Equal(1, perPrompt); // every reference case uses one image per prompt and one generator per image
            return prompts.Select((p, i) => new ImageRequest(p, negatives.Length == 0 ? null : negatives[negatives.Length == 1 ? 0 : i],
                seeds.Length == 1 ? seeds[0] : seeds[i], i)).ToArray();
        }
    }

    public bool HasFile(string name) => _case.GetProperty("files").TryGetProperty(name, out _);

    public float[] F32(string name) => Fixtures.ReadF32(Path.Combine(ManifestFolder, _case.GetProperty("files").GetProperty(name).GetProperty("file").GetString()!));

    public double[] F64(string name) => Fixtures.ReadF64(Path.Combine(ManifestFolder, _case.GetProperty("files").GetProperty(name).GetProperty("file").GetString()!));

    public string PngPath(int index) => Path.Combine(ManifestFolder, Id, $"image_{index}.png");

    public override string ToString() => Id;

    /// <summary>The cases of tiny-sd/expected/<paramref name="manifestFolderName"/>/manifest.json.</summary>
    /// <summary>The case ids of a manifest under tiny-sd/expected, for [MemberData].</summary>
    public static TheoryData<string> Ids(string manifestFolderName)
    {
        var data = new TheoryData<string>();
        foreach (var c in Load(manifestFolderName)) data.Add(c.Id);
        return data;
    }

    public static IReadOnlyList<PipelineCase> Load(string manifestFolderName) => LoadFolder(Fixtures.ExpectedPath(manifestFolderName));

    /// <summary>The cases of <paramref name="folder"/>/manifest.json, a full path (another fixture: tiny-sdxl/expected/…).</summary>
    public static IReadOnlyList<PipelineCase> LoadFolder(string folder)
    {
        using var doc = JsonDocument.Parse(QuoteNonFinite(File.ReadAllText(Path.Combine(folder, "manifest.json"))));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => new PipelineCase(folder, c.Clone())).ToArray();
    }

    // tiny-sdxl's manifest writes Python's bare -Infinity (DPMSolver's lambda_min_clipped), which is not JSON; the README's
    // convention is the string "-Infinity", so quote bare values (one per line in these pretty-printed files).
    private static readonly Regex BareNonFinite = new(@"^(\s*(?:""[^""]*"":\s*)?)(-?Infinity|NaN)(,?)[ \t\r]*$", RegexOptions.Multiline);

    /// <summary>The manifest text with bare non-finite numbers quoted (see above).</summary>
    public static string QuoteNonFinite(string json) => BareNonFinite.Replace(json, "$1\"$2\"$3");

    private static string[] Strings(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null => [],
        JsonValueKind.String => [e.GetString()!],
        JsonValueKind.Array => e.EnumerateArray().Select(x => x.GetString()!).ToArray(),
        _ => throw new FormatException($"Unexpected prompt value {e}"),
    };
}
