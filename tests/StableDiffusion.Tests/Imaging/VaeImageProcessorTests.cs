using System.Text.Json;
using StableDiffusion.Imaging;
using StableDiffusion.Tests.Pipeline;
using StableDiffusion.Tests.Support;
using Xunit.Abstractions;

namespace StableDiffusion.Tests.Imaging;

/// <summary>
/// Every img2img and inpainting reference case of diffusers 0.35.2: the preprocessed image, mask and masked image
/// computed from the case's input files must equal diffusers' tensors exactly, and the padding-crop case's crop
/// region and overlay must equal diffusers' output image.
/// </summary>
public sealed class VaeImageProcessorTests(ITestOutputHelper output)
{
    private const string Img2Img = "img2img-diffusers-0.35";
    private const string Inpaint = "inpaint-diffusers-0.35";

    public static IEnumerable<object[]> Cases(string manifest) => PipelineCase.Load(manifest).Select(c => new object[] { c.Id });

    [Theory]
    [MemberData(nameof(Cases), Img2Img)]
    public void Img2img_preprocessed_image_equals_diffusers(string id)
    {
        PipelineCase testCase = Find(Img2Img, id);
        JsonElement image = testCase.Raw.GetProperty("image");
        string file = image.GetProperty("files")[0].GetString()!;
        SourceImage source = SourceImageReader.Load(testCase.FixturePath(file));
        if (image.GetProperty("caller_preprocessing").GetString() is { } preprocessing)
        {
            Assert.Equal("PIL .convert('RGB')", preprocessing);
            source = PilConvert.Convert(source, PixelMode.Rgb);
        }

        (int width, int height) = VaeImageProcessor.GetDefaultSize(source);
        Assert.Equal(SizeHw(image.GetProperty("processed_size_hw")), (width, height));

        float[] expected = testCase.F32("image_preprocessed");
        float[] actual = VaeImageProcessor.PreprocessImage(source, width, height);
        // One row per init image; every case has one init image (repeated to the batch by the pipeline).
        AssertExact(expected.AsSpan(0, actual.Length), actual, $"{id} image_preprocessed");
    }

    [Theory]
    [MemberData(nameof(Cases), Inpaint)]
    public void Inpaint_preprocessed_image_mask_and_masked_image_equal_diffusers(string id)
    {
        PipelineCase testCase = Find(Inpaint, id);
        SourceImage image = SourceImageReader.Load(testCase.FixturePath(testCase.Raw.GetProperty("image").GetProperty("file").GetString()!));
        SourceImage mask = SourceImageReader.Load(testCase.FixturePath(testCase.Raw.GetProperty("mask_image").GetProperty("file").GetString()!));

        // The pipeline's height/width default to unet.sample_size * vae_scale_factor (64 for the tiny models).
        int? requestedWidth = Optional(testCase.Raw, "width") ?? 64, requestedHeight = Optional(testCase.Raw, "height") ?? 64;
        (int width, int height) = VaeImageProcessor.GetProcessingSize(image, requestedWidth, requestedHeight);
        Assert.Equal(SizeHw(testCase.Raw.GetProperty("processed_size_hw")), (width, height));

        CropRegion? crop = null;
        var resizeMode = VaeResizeMode.Default;
        if (Optional(testCase.Raw, "padding_mask_crop") is { } pad)
        {
            crop = VaeImageProcessor.GetCropRegion(mask, width, height, pad);
            int[] expectedRegion = testCase.Raw.GetProperty("crop_region_xyxy").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(expectedRegion, new[] { crop.Value.Left, crop.Value.Top, crop.Value.Right, crop.Value.Bottom });
            resizeMode = VaeResizeMode.Fill;
        }

        float[] preprocessedImage = VaeImageProcessor.PreprocessImage(image, width, height, resizeMode, crop);
        float[] preprocessedMask = VaeImageProcessor.PreprocessMask(mask, width, height, resizeMode, crop);
        AssertExact(testCase.F32("image_preprocessed"), preprocessedImage, $"{id} image_preprocessed");
        AssertExact(testCase.F32("mask_preprocessed"), preprocessedMask, $"{id} mask_preprocessed");
        AssertExact(testCase.F32("masked_image"), VaeImageProcessor.MaskImage(preprocessedImage, preprocessedMask), $"{id} masked_image");
    }

    [Fact]
    public void Padding_crop_overlay_equals_diffusers_output_image()
    {
        PipelineCase testCase = Find(Inpaint, "inp9_padcrop8_pndm_s100");
        SourceImage image = SourceImageReader.Load(testCase.FixturePath(testCase.Raw.GetProperty("image").GetProperty("file").GetString()!));
        SourceImage mask = SourceImageReader.Load(testCase.FixturePath(testCase.Raw.GetProperty("mask_image").GetProperty("file").GetString()!));
        SourceImage generated = SourceImageReader.Load(testCase.FixturePath(testCase.Raw.GetProperty("image_before_overlay_png")[0].GetString()!));

        // The PNG before the overlay is numpy_to_pil of the pipeline's float image.
        float[] beforeOverlay = testCase.F32("image_before_overlay");
        Assert.Equal(beforeOverlay.Select(ImageConversion.ToByte).ToArray(), generated.Pixels);

        CropRegion crop = VaeImageProcessor.GetCropRegion(mask, 64, 64, 8);
        SourceImage overlaid = VaeImageProcessor.ApplyOverlay(mask, image, generated, crop);

        byte[] expected = File.ReadAllBytes(testCase.FixturePath(testCase.Raw.GetProperty("files").GetProperty("image_final_rgb").GetProperty("file").GetString()!));
        Assert.Equal(PixelMode.Rgb, overlaid.Mode);
        int maxDiff = expected.Zip(overlaid.Pixels, (e, a) => Math.Abs(e - a)).Max();
        output.WriteLine($"overlay max |diff| = {maxDiff} levels");
        Assert.Equal(0, maxDiff);
        Assert.Equal(SourceImageReader.Load(testCase.PngPath(0)).Pixels, overlaid.Pixels);
    }

    [Fact]
    public void Default_size_rounds_down_to_the_scale_factor()
    {
        var image = new SourceImage(87, 70, PixelMode.L, new byte[87 * 70]);
        Assert.Equal((80, 64), VaeImageProcessor.GetDefaultSize(image));
        Assert.Equal((96, 64), VaeImageProcessor.GetProcessingSize(image, 100, 71));
    }

    [Fact]
    public void Crop_region_widens_to_the_processing_aspect_ratio_and_stays_inside()
    {
        // A single white pixel at (60, 2) of a 64×64 mask, pad 4, processing 2:1 → box 8×7 widened to 14 and
        // shifted back from the right edge.
        var pixels = new byte[64 * 64];
        pixels[2 * 64 + 60] = 255;
        var mask = new SourceImage(64, 64, PixelMode.L, pixels);
        Assert.Equal(new CropRegion(50, 0, 64, 7), VaeImageProcessor.GetCropRegion(mask, 128, 64, 4));
    }

    [Fact]
    public void Crop_region_of_a_black_mask_is_refused()
    {
        var mask = new SourceImage(8, 8, PixelMode.L, new byte[64]);
        Assert.Throws<ArgumentException>(() => VaeImageProcessor.GetCropRegion(mask, 8, 8, 2));
    }

    [Fact]
    public void Fill_stretches_the_edge_rows_into_the_bands()
    {
        // 4×2 → 4×4: the fitted image is 4×2 at rows 1-2 and rows 0 and 3 come from the edge rows.
        byte[] pixels = [10, 20, 30, 40, 50, 60, 70, 80];
        var image = new SourceImage(4, 2, PixelMode.L, pixels);
        SourceImage filled = VaeImageProcessor.Resize(image, 4, 4, VaeResizeMode.Fill);
        Assert.Equal(PixelMode.Rgb, filled.Mode);
        byte[] grey = PilConvert.Convert(filled, PixelMode.L).Pixels;
        Assert.Equal(pixels, grey[4..12]);
        // Bicubic of the zero-height box at the top: 1.125·row0 − 0.125·row1; at the bottom the mirror image.
        Assert.Equal(new byte[] { 5, 15, 25, 35 }, grey[..4]);
        Assert.Equal(new byte[] { 55, 65, 75, 85 }, grey[12..]);
    }

    [Fact]
    public void Masked_image_zeroes_the_repaint_region_keeping_the_sign_of_zero()
    {
        float[] masked = VaeImageProcessor.MaskImage([-0.5f, 0.25f, -1f, 1f], [1f, 0f]);
        Assert.Equal([-0f, 0.25f, -0f, 1f], masked);
        Assert.True(float.IsNegative(masked[0]));
    }

    private void AssertExact(ReadOnlySpan<float> expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = Compare.MaxAbs(expected, actual);
        output.WriteLine($"{what}: max |diff| = {maxDiff:R}");
        Assert.True(maxDiff == 0, $"{what}: max |diff| {maxDiff:R} (tolerance of the issue: 1/255).");
    }

    private static PipelineCase Find(string manifest, string id) => PipelineCase.Load(manifest).Single(c => c.Id == id);

    private static (int Width, int Height) SizeHw(JsonElement hw) => (hw[1].GetInt32(), hw[0].GetInt32());

    private static int? Optional(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;
}
