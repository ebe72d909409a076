using System.Text.Json;
using StableDiffusion.Random;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Random;

/// <summary>NumpyRandomState against numpy 1.24 legacy RandomState streams (expected/rng): exact float64.</summary>
public class NumpyRandomStateTests
{
    public static IEnumerable<object[]> RandnCases => RngManifest.Rows("numpy_randn");
    public static IEnumerable<object[]> SequenceCases => RngManifest.Rows("numpy_sequences");

    [Theory]
    [InlineData("numpy_randn")]
    [InlineData("numpy_sequences")]
    public void ManifestHasCases(string section) => Assert.True(RngManifest.Section(section).Count > 0, $"no {section} cases");

    [Theory]
    [MemberData(nameof(RandnCases))]
    public void RandnMatchesNumpyExactly(string section, int index)
    {
        JsonElement entry = RngManifest.Section(section)[index];
        int numel = RngManifest.Numel(entry);
        Assert.Equal(numel, entry.GetProperty("numel").GetInt32());
        string what = entry.GetProperty("call").GetString()!;

        var actual = new double[numel];
        new NumpyRandomState(RngManifest.Seed(entry)).RandnDouble(actual);

        if (entry.TryGetProperty("values", out JsonElement values))
        {
            double[] expected = RngManifest.Doubles(values);
            Assert.Equal(numel, expected.Length);
            BitCompare.Float64Exact(expected, actual, 0, what + " values");
        }
        if (entry.TryGetProperty("file", out _))
        {
            double[] expected = Fixtures.ReadF64(RngManifest.FilePath(entry));
            Assert.Equal(numel, expected.Length);
            BitCompare.Float64Exact(expected, actual, 0, what + " file");
        }
        double[] first = RngManifest.Doubles(entry.GetProperty("first64"));
        double[] last = RngManifest.Doubles(entry.GetProperty("last64"));
        BitCompare.Float64Exact(first, actual, 0, what + " first64");
        BitCompare.Float64Exact(last, actual, numel - last.Length, what + " last64");
        Assert.Equal(entry.GetProperty("sum_f64").GetDouble(), BitCompare.Sum(actual), 1e-9 * Math.Max(1, numel));

        // The float32 stream (what the ONNX pipeline feeds) is the float64 stream rounded.
        var single = new float[numel];
        new NumpyRandomState(RngManifest.Seed(entry)).Randn(single);
        BitCompare.Float32Exact(RngManifest.Doubles(entry.GetProperty("float32_cast_first8")), single, 0, what + " float32 cast");
        for (int i = 0; i < numel; i++)
            Assert.Equal((float)actual[i], single[i]);
    }

    [Theory]
    [MemberData(nameof(SequenceCases))]
    public void SuccessiveCallsCarryTheCachedGaussian(string section, int index)
    {
        JsonElement entry = RngManifest.Section(section)[index];
        var state = new NumpyRandomState(RngManifest.Seed(entry));
        int call = 0;
        foreach (JsonElement step in entry.GetProperty("calls").EnumerateArray())
        {
            double[] expected = RngManifest.Doubles(step.GetProperty("values"));
            var actual = new double[RngManifest.Numel(step)];
            state.RandnDouble(actual);
            BitCompare.Float64Exact(expected, actual, 0, $"seed {state.Seed} call {call++}");
        }
        Assert.True(call > 1);
    }

    [Theory]
    [InlineData(4294967296UL)]
    [InlineData(ulong.MaxValue)]
    public void SeedsFrom2To32AreRejectedLikeNumpy(ulong seed)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new NumpyRandomState(seed));
        Assert.Equal("seed", ex.ParamName);
    }

    [Fact]
    public void LargestAcceptedSeedWorks()
    {
        var state = new NumpyRandomState(uint.MaxValue);
        Assert.Equal(uint.MaxValue, state.Seed);
    }
}
