using System.Text.Json;
using StableDiffusion.Random;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Random;

/// <summary>
/// The initial latent noise of every pipeline reference run, regenerated from the case's seed(s): torch runs draw
/// one (1, 4, h, w) randn per image from its own generator; the ONNX pipeline draws randn(1, 4, h, w) from a
/// NumPy RandomState and casts it to float32.
/// </summary>
public class PipelineInitialNoiseTests
{
    public static IEnumerable<object[]> Cases =>
        new[] { "pipeline-diffusers-0.35", "pipeline", "onnx_pipeline" }.SelectMany(manifest =>
            Enumerable.Range(0, Fixtures.ReadJson(manifest, "manifest.json").RootElement.GetProperty("cases").GetArrayLength())
                .Select(i => new object[] { manifest, i }));

    [Fact]
    public void ThereAreCases() => Assert.True(Cases.Count() > 0);

    [Theory]
    [MemberData(nameof(Cases))]
    public void InitialNoiseIsRegeneratedBitForBit(string manifest, int index)
    {
        JsonElement testCase = Fixtures.ReadJson(manifest, "manifest.json").RootElement.GetProperty("cases")[index];
        JsonElement file = testCase.GetProperty("files").GetProperty("initial_noise");
        int[] shape = file.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
        float[] expected = Fixtures.ReadF32(Fixtures.ExpectedPath(manifest, file.GetProperty("file").GetString()!));

        JsonElement seedElement = testCase.GetProperty("seed");
        ulong[] seeds = seedElement.ValueKind == JsonValueKind.Array
            ? seedElement.EnumerateArray().Select(s => s.GetUInt64()).ToArray()
            : [seedElement.GetUInt64()];
        Assert.Equal(shape[0], seeds.Length);
        bool numpy = testCase.GetProperty("generator").GetString()!.StartsWith("np.random.RandomState", StringComparison.Ordinal);

        int perImage = shape[1] * shape[2] * shape[3];
        var actual = new float[expected.Length];
        for (int b = 0; b < seeds.Length; b++)
        {
            IRandomGenerator generator = numpy ? new NumpyRandomState(seeds[b]) : new TorchGenerator(seeds[b]);
            generator.Randn(actual.AsSpan(b * perImage, perImage));
        }
        BitCompare.Float32Exact(expected.Select(v => (double)v).ToArray(), actual, 0, $"{manifest}/{testCase.GetProperty("id")}");
    }
}
