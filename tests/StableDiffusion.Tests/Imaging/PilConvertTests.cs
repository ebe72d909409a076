using StableDiffusion.Imaging;

namespace StableDiffusion.Tests.Imaging;

public sealed class PilConvertTests
{
    [Theory]
    [InlineData(255, 0, 0, 76)]
    [InlineData(0, 255, 0, 150)]
    [InlineData(0, 0, 255, 29)]
    [InlineData(255, 255, 255, 255)]
    [InlineData(128, 128, 128, 128)]
    public void Luma_is_PIL_fixed_point(byte r, byte g, byte b, byte expected) => Assert.Equal(expected, PilConvert.Luma(r, g, b));

    [Fact]
    public void Rgba_to_L_ignores_alpha_and_to_Rgb_drops_it()
    {
        var image = new SourceImage(1, 1, PixelMode.Rgba, [255, 0, 0, 7]);
        Assert.Equal(new byte[] { 76 }, PilConvert.Convert(image, PixelMode.L).Pixels);
        Assert.Equal(new byte[] { 255, 0, 0 }, PilConvert.Convert(image, PixelMode.Rgb).Pixels);
    }

    [Fact]
    public void L_to_Rgb_and_Rgba_replicates_with_opaque_alpha()
    {
        var image = new SourceImage(2, 1, PixelMode.L, [9, 200]);
        Assert.Equal(new byte[] { 9, 9, 9, 200, 200, 200 }, PilConvert.Convert(image, PixelMode.Rgb).Pixels);
        Assert.Equal(new byte[] { 9, 9, 9, 255, 200, 200, 200, 255 }, PilConvert.Convert(image, PixelMode.Rgba).Pixels);
    }

    [Fact]
    public void The_same_mode_is_the_image_itself()
    {
        var image = new SourceImage(1, 1, PixelMode.Rgb, [1, 2, 3]);
        Assert.Same(image, PilConvert.Convert(image, PixelMode.Rgb));
    }

    [Fact]
    public void Premultiplication_rounds_and_its_inverse_truncates()
    {
        byte[] rgba = [200, 255, 0, 128, 10, 20, 30, 0, 10, 20, 30, 255];
        PilConvert.Premultiply(rgba);
        Assert.Equal(new byte[] { 100, 128, 0, 128, 0, 0, 0, 0, 10, 20, 30, 255 }, rgba);
        PilConvert.Unpremultiply(rgba);
        // 255·100/128 = 199.2 → 199; alpha 0 and 255 keep the colour as it is.
        Assert.Equal(new byte[] { 199, 255, 0, 128, 0, 0, 0, 0, 10, 20, 30, 255 }, rgba);
    }

    [Fact]
    public void Alpha_composite_of_half_white_over_opaque_black_is_mid_grey()
    {
        byte[] destination = [0, 0, 0, 255];
        PilImageOps.AlphaComposite(destination, [255, 255, 255, 128]);
        Assert.Equal(new byte[] { 128, 128, 128, 255 }, destination);
    }

    [Fact]
    public void Paste_through_a_mask_blends_every_sample()
    {
        byte[] destination = [0, 0, 0, 0];
        PilImageOps.PasteThroughMask(destination, [255, 100, 0, 255], [128], 4);
        Assert.Equal(new byte[] { 128, 50, 0, 128 }, destination);
    }
}
