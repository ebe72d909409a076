using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Imaging;

/// <summary>
/// ImageConversion against diffusers' post-processing: VAE output → image.f32 (bit-exact) → PNG pixels (exact).
/// </summary>
public class ImageConversionTests
{
    public static IEnumerable<object[]> Cases => PipelineImageCases.Rows();

    [Theory]
    [InlineData("pipeline-diffusers-0.35")]
    [InlineData("pipeline")]
    public void ManifestHasCases(string manifest) => Assert.True(PipelineImageCases.Count(manifest) > 0);

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecoderOutputGivesTheReferenceImageBitForBit(string manifest, int index)
    {
        JsonElement testCase = PipelineImageCases.Case(manifest, index);
        (string decodedPath, int[] decodedShape) = PipelineImageCases.File(manifest, testCase, "vae_decoder_output");
        (string imagePath, int[] imageShape) = PipelineImageCases.File(manifest, testCase, "image");
        int batch = decodedShape[0], height = decodedShape[2], width = decodedShape[3];
        Assert.Equal(3, decodedShape[1]);
        Assert.Equal(new[] { batch, height, width, 3 }, imageShape);

        float[] decoded = Fixtures.ReadF32(decodedPath);
        float[] expected = Fixtures.ReadF32(imagePath);
        float[] actual = ImageConversion.ToUnitRange(decoded, batch, height, width);

        Assert.Equal(expected.Length, actual.Length);
        int differing = 0;
        float maxDiff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                differing++;
            maxDiff = Math.Max(maxDiff, Math.Abs(expected[i] - actual[i]));
        }
        // Stated tolerance atol 1e-6; the formula is the same float32 arithmetic, so expect (and require) exact bits.
        Assert.True(maxDiff <= 1e-6f, $"{testCase.GetProperty("id")}: max |diff| {maxDiff}");
        Assert.True(differing == 0, $"{testCase.GetProperty("id")}: {differing} values differ in their bits (max {maxDiff}).");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReferenceImageGivesTheReferencePngPixels(string manifest, int index)
    {
        JsonElement testCase = PipelineImageCases.Case(manifest, index);
        (string imagePath, int[] shape) = PipelineImageCases.File(manifest, testCase, "image");
        int batch = shape[0], height = shape[1], width = shape[2];
        string[] pngs = PipelineImageCases.Pngs(manifest, testCase);
        Assert.Equal(batch, pngs.Length);

        float[] unit = Fixtures.ReadF32(imagePath);
        for (int b = 0; b < batch; b++)
        {
            using Image<Rgb24> actual = ImageConversion.ToImage(unit, b, height, width);
            using Image<Rgb24> expected = Image.Load<Rgb24>(pngs[b]);
            AssertSamePixels(expected, actual, pngs[b]);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecoderOutputGivesTheReferencePngsEndToEnd(string manifest, int index)
    {
        JsonElement testCase = PipelineImageCases.Case(manifest, index);
        (string decodedPath, int[] shape) = PipelineImageCases.File(manifest, testCase, "vae_decoder_output");
        int batch = shape[0], height = shape[2], width = shape[3];
        float[] unit = ImageConversion.ToUnitRange(Fixtures.ReadF32(decodedPath), batch, height, width);

        Image<Rgb24>[] images = ImageConversion.ToImages(unit, batch, height, width);
        try
        {
            string[] pngs = PipelineImageCases.Pngs(manifest, testCase);
            Assert.Equal(batch, images.Length);
            for (int b = 0; b < batch; b++)
            {
                using Image<Rgb24> expected = Image.Load<Rgb24>(pngs[b]);
                AssertSamePixels(expected, images[b], pngs[b]);
            }
        }
        finally
        {
            foreach (Image<Rgb24> image in images)
                image.Dispose();
        }
    }

    [Fact]
    public void OnnxPipelineImagesGiveTheirPngs()
    {
        JsonElement cases = Fixtures.ReadJson("onnx_pipeline", "manifest.json").RootElement.GetProperty("cases");
        Assert.True(cases.GetArrayLength() > 0);
        foreach (JsonElement testCase in cases.EnumerateArray())
        {
            (string imagePath, int[] shape) = PipelineImageCases.File("onnx_pipeline", testCase, "image");
            string[] pngs = PipelineImageCases.Pngs("onnx_pipeline", testCase);
            float[] unit = Fixtures.ReadF32(imagePath);
            for (int b = 0; b < shape[0]; b++)
            {
                using Image<Rgb24> actual = ImageConversion.ToImage(unit, b, shape[1], shape[2]);
                using Image<Rgb24> expected = Image.Load<Rgb24>(pngs[b]);
                AssertSamePixels(expected, actual, pngs[b]);
            }
        }
    }

    [Fact]
    public void RoundingTiesGoToEvenLikeNumpy()
    {
        // numpy.round rounds x.5 to the even neighbour. Find inputs whose float32 product with 255 is exactly k + 0.5.
        int checkedTies = 0;
        for (int k = 0; k < 255; k++)
        {
            float v = (float)((k + 0.5) / 255.0);
            for (int step = -2; step <= 2; step++)
            {
                float candidate = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(v) + step);
                if (candidate * 255f != k + 0.5f)
                    continue;
                int even = k % 2 == 0 ? k : k + 1;
                Assert.Equal(even, ImageConversion.ToByte(candidate));
                checkedTies++;
            }
        }
        Assert.True(checkedTies > 10, $"only {checkedTies} ties found");
    }

    [Fact]
    public void UnitRangeFollowsTheDiffusersFormula()
    {
        Assert.Equal(0.5f, ImageConversion.ToUnit(0f));
        Assert.Equal(0f, ImageConversion.ToUnit(-1.5f));
        Assert.Equal(1f, ImageConversion.ToUnit(1.0001f));
        Assert.True(float.IsNaN(ImageConversion.ToUnit(float.NaN))); // torch.clamp keeps NaN
        Assert.Equal(0, ImageConversion.ToByte(float.NaN));
        Assert.Equal(255, ImageConversion.ToByte(1f));
        Assert.Equal(0, ImageConversion.ToByte(0f));
    }

    [Fact]
    public void ChannelsAreTransposedFromNchwToNhwc()
    {
        // batch 1, 1x2 image: channel planes R = [r0, r1], G = [g0, g1], B = [b0, b1] → pixels (r0 g0 b0) (r1 g1 b1).
        float[] nchw = [-1f, 1f, 0f, 0.5f, -0.5f, 0.25f];
        float[] nhwc = ImageConversion.ToUnitRange(nchw, 1, 1, 2);
        Assert.Equal(new[] { 0f, 0.5f, 0.25f, 1f, 0.75f, 0.625f }, nhwc);
    }

    [Fact]
    public void BadShapesAreRejectedWithTheParameterName()
    {
        var data = new float[12];
        Assert.Equal("nchw", Assert.Throws<ArgumentException>(() => ImageConversion.ToUnitRange(data, 1, 2, 3, new float[18])).ParamName);
        Assert.Equal("nhwcDestination", Assert.Throws<ArgumentException>(() => ImageConversion.ToUnitRange(data, 1, 2, 2, new float[11])).ParamName);
        Assert.Equal("height", Assert.Throws<ArgumentOutOfRangeException>(() => ImageConversion.ToUnitRange(data, 1, 0, 2)).ParamName);
        Assert.Equal("index", Assert.Throws<ArgumentOutOfRangeException>(() => ImageConversion.ToImage(data, 1, 2, 2)).ParamName);
        Assert.Equal("nhwcUnit", Assert.Throws<ArgumentException>(() => ImageConversion.ToImage(data, 0, 2, 3)).ParamName);
    }

    internal static void AssertSamePixels(Image<Rgb24> expected, Image<Rgb24> actual, string what)
    {
        Assert.Equal(expected.Width, actual.Width);
        Assert.Equal(expected.Height, actual.Height);
        var want = new byte[expected.Width * expected.Height * 3];
        var got = new byte[want.Length];
        expected.CopyPixelDataTo(want);
        actual.CopyPixelDataTo(got);
        int differing = 0, maxLevels = 0;
        for (int i = 0; i < want.Length; i++)
        {
            if (want[i] != got[i]) differing++;
            maxLevels = Math.Max(maxLevels, Math.Abs(want[i] - got[i]));
        }
        Assert.True(differing == 0, $"{what}: {differing} of {want.Length} channel values differ (max {maxLevels} levels).");
    }
}
