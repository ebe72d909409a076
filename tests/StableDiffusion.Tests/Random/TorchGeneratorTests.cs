using System.Text.Json;
using StableDiffusion.Random;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Random;

/// <summary>
/// TorchGenerator against torch 1.13 CPU reference streams (expected/rng): float bits must match exactly.
/// </summary>
public class TorchGeneratorTests
{
    public static IEnumerable<object[]> RandnCases => RngManifest.Rows("torch_randn");
    public static IEnumerable<object[]> SequenceCases => RngManifest.Rows("torch_sequences");
    public static IEnumerable<object[]> RandCases => RngManifest.Rows("torch_rand");
    public static IEnumerable<object[]> RandIntCases => RngManifest.Rows("torch_randint");

    [Theory]
    [InlineData("torch_randn")]
    [InlineData("torch_sequences")]
    [InlineData("torch_rand")]
    [InlineData("torch_randint")]
    public void ManifestHasCases(string section) => Assert.True(RngManifest.Section(section).Count > 0, $"no {section} cases");

    [Theory]
    [MemberData(nameof(RandnCases))]
    public void RandnMatchesTorchBitForBit(string section, int index)
    {
        JsonElement entry = RngManifest.Section(section)[index];
        int numel = RngManifest.Numel(entry);
        Assert.Equal(numel, entry.GetProperty("numel").GetInt32());

        var actual = new float[numel];
        new TorchGenerator(RngManifest.Seed(entry)).Randn(actual);

        string what = entry.GetProperty("call").GetString()!;
        int compared = 0;
        if (entry.TryGetProperty("values", out JsonElement values))
        {
            double[] expected = RngManifest.Doubles(values);
            Assert.Equal(numel, expected.Length);
            BitCompare.Float32Exact(expected, actual, 0, what + " values");
            compared++;
        }
        if (entry.TryGetProperty("file", out _))
        {
            float[] expected = Fixtures.ReadF32(RngManifest.FilePath(entry));
            Assert.Equal(numel, expected.Length);
            BitCompare.Float32Exact(expected.Select(v => (double)v).ToArray(), actual, 0, what + " file");
            compared++;
        }
        double[] first = RngManifest.Doubles(entry.GetProperty("first64"));
        double[] last = RngManifest.Doubles(entry.GetProperty("last64"));
        BitCompare.Float32Exact(first, actual, 0, what + " first64");
        BitCompare.Float32Exact(last, actual, numel - last.Length, what + " last64");

        double sum = entry.GetProperty("sum_f64").GetDouble();
        Assert.Equal(sum, BitCompare.Sum(actual), 1e-9 * Math.Max(1, numel));
        Assert.True(compared > 0 || numel <= 128, $"{what}: neither values nor a file to compare in full");
    }

    [Theory]
    [MemberData(nameof(SequenceCases))]
    public void SuccessiveRandnCallsCarryTheState(string section, int index)
    {
        JsonElement entry = RngManifest.Section(section)[index];
        var generator = new TorchGenerator(RngManifest.Seed(entry));
        int call = 0;
        foreach (JsonElement step in entry.GetProperty("calls").EnumerateArray())
        {
            double[] expected = RngManifest.Doubles(step.GetProperty("values"));
            var actual = new float[RngManifest.Numel(step)];
            generator.Randn(actual);
            BitCompare.Float32Exact(expected, actual, 0, $"seed {generator.Seed} call {call++}");
        }
        Assert.True(call > 1);
    }

    [Theory]
    [MemberData(nameof(RandCases))]
    public void RandMatchesTorchBitForBit(string section, int index)
    {
        JsonElement entry = RngManifest.Section(section)[index];
        double[] expected = RngManifest.Doubles(entry.GetProperty("values"));
        var actual = new float[RngManifest.Numel(entry)];
        new TorchGenerator(RngManifest.Seed(entry)).Rand(actual);
        BitCompare.Float32Exact(expected, actual, 0, entry.GetProperty("call").GetString()!);
        Assert.Equal(expected.Length, actual.Length);
    }

    [Theory]
    [MemberData(nameof(RandIntCases))]
    public void RandIntMatchesTorch(string section, int index)
    {
        JsonElement entry = RngManifest.Section(section)[index];
        string call = entry.GetProperty("call").GetString()!;
        // The manifest records the call as "torch.randint(low, high, shape, generator=g)".
        string[] arguments = call[(call.IndexOf('(') + 1)..].Split(',', StringSplitOptions.TrimEntries);
        long low = long.Parse(arguments[0]);
        long high = long.Parse(arguments[1]);

        long[] expected = RngManifest.Longs(entry.GetProperty("values"));
        var actual = new long[RngManifest.Numel(entry)];
        new TorchGenerator(RngManifest.Seed(entry)).RandInt(low, high, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void OnlyTheLow32BitsOfTheSeedMatter()
    {
        var a = new float[20];
        var b = new float[20];
        new TorchGenerator(5).Randn(a);
        new TorchGenerator((1UL << 32) + 5).Randn(b);
        Assert.Equal(a, b);
        Assert.Equal((1UL << 32) + 5, new TorchGenerator((1UL << 32) + 5).Seed);
    }

    [Fact]
    public void RandIntRejectsAnEmptyRange()
    {
        var ex = Assert.Throws<ArgumentException>(() => new TorchGenerator(0).RandInt(3, 3, new long[1]));
        Assert.Equal("high", ex.ParamName);
    }
}
