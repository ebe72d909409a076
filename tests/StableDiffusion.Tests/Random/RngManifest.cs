using System.Text.Json;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Random;

/// <summary>
/// Reads expected/rng/manifest.json: the torch and NumPy reference streams. Tests iterate its entries so every
/// recorded case is checked; a missing manifest throws (the tests fail, never skip).
/// </summary>
internal static class RngManifest
{
    private static readonly Lazy<JsonDocument> _document = new(() => Fixtures.ReadJson("rng", "manifest.json"));

    public static JsonElement Root => _document.Value.RootElement;

    /// <summary>The entries of one top-level list (e.g. "torch_randn").</summary>
    public static IReadOnlyList<JsonElement> Section(string name) =>
        Root.GetProperty(name).EnumerateArray().ToList();

    /// <summary>Theory rows (section, index) for every entry of a section.</summary>
    public static IEnumerable<object[]> Rows(string section) =>
        Enumerable.Range(0, Section(section).Count).Select(i => new object[] { section, i });

    public static ulong Seed(JsonElement entry) => entry.GetProperty("seed").GetUInt64();

    public static int Numel(JsonElement entry) =>
        entry.GetProperty("shape").EnumerateArray().Aggregate(1, (n, d) => n * d.GetInt32());

    public static double[] Doubles(JsonElement array) =>
        array.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    public static long[] Longs(JsonElement array) =>
        array.EnumerateArray().Select(v => v.GetInt64()).ToArray();

    public static string FilePath(JsonElement entry) =>
        Fixtures.ExpectedPath("rng", entry.GetProperty("file").GetProperty("file").GetString()!);
}
