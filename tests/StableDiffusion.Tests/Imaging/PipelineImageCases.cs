using System.Text.Json;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Imaging;

/// <summary>
/// The pipeline reference runs that carry decoded images: every case of expected/pipeline-diffusers-0.35 (the
/// default target) and of expected/pipeline (diffusers 0.12, the same post-processing).
/// </summary>
internal static class PipelineImageCases
{
    public static readonly string[] Manifests = ["pipeline-diffusers-0.35", "pipeline"];

    private static readonly Dictionary<string, JsonDocument> _documents = new();

    public static JsonElement Case(string manifest, int index)
    {
        lock (_documents)
        {
            if (!_documents.TryGetValue(manifest, out JsonDocument? document))
                _documents[manifest] = document = Fixtures.ReadJson(manifest, "manifest.json");
            return document.RootElement.GetProperty("cases")[index];
        }
    }

    public static int Count(string manifest) =>
        Fixtures.ReadJson(manifest, "manifest.json").RootElement.GetProperty("cases").GetArrayLength();

    public static IEnumerable<object[]> Rows() =>
        Manifests.SelectMany(m => Enumerable.Range(0, Count(m)).Select(i => new object[] { m, i }));

    /// <summary>Path and shape of a file entry (e.g. "image", "vae_decoder_output") of a case.</summary>
    public static (string Path, int[] Shape) File(string manifest, JsonElement testCase, string name)
    {
        JsonElement entry = testCase.GetProperty("files").GetProperty(name);
        int[] shape = entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
        return (Fixtures.ExpectedPath(manifest, entry.GetProperty("file").GetString()!), shape);
    }

    public static string[] Pngs(string manifest, JsonElement testCase) =>
        testCase.GetProperty("png").EnumerateArray().Select(p => Fixtures.ExpectedPath(manifest, p.GetString()!)).ToArray();
}
