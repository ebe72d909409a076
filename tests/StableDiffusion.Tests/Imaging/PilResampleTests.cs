using StableDiffusion.Imaging;

namespace StableDiffusion.Tests.Imaging;

/// <summary>
/// Pillow's resize on cases small enough to follow Resample.c by hand; the fixture cases (87×70 → 80×64,
/// 96×64 → 64×64, 28×28 → 64×64 and back) are in <see cref="VaeImageProcessorTests"/>.
/// </summary>
public sealed class PilResampleTests
{
    [Fact]
    public void Halving_two_pixels_averages_them_with_rounding()
    {
        // Lanczos at scale 2: both taps weigh 0.5 = 2^21 in fixed point; (0 + 255·2^21 + 2^21) >> 22 = 128.
        var image = new SourceImage(2, 1, PixelMode.L, [0, 255]);
        Assert.Equal(new byte[] { 128 }, PilResample.Resize(image, 1, 1).Pixels);
    }

    [Fact]
    public void Bicubic_upscale_overshoot_is_clipped()
    {
        // Output 0 has weights 1.088, −0.088 (clipped to 0); output 1 has 0.793, 0.207 → 52.8 → 53.
        var image = new SourceImage(2, 1, PixelMode.L, [0, 255]);
        Assert.Equal(new byte[] { 0, 53, 202, 255 }, PilResample.Resize(image, 4, 1, PilFilter.Bicubic).Pixels);
    }

    [Theory]
    [InlineData(13, 3)]
    [InlineData(3, 11)]
    [InlineData(64, 64)]
    public void A_flat_image_stays_flat(int width, int height)
    {
        var image = new SourceImage(7, 5, PixelMode.Rgb, Enumerable.Repeat((byte)200, 7 * 5 * 3).ToArray());
        SourceImage resized = PilResample.Resize(image, width, height);
        Assert.Equal((width, height), (resized.Width, resized.Height));
        Assert.All(resized.Pixels, p => Assert.Equal(200, p));
    }

    [Fact]
    public void The_same_size_and_whole_box_return_the_image_itself()
    {
        var image = new SourceImage(3, 2, PixelMode.L, [1, 2, 3, 4, 5, 6]);
        Assert.Same(image, PilResample.Resize(image, 3, 2));
        Assert.Same(image, PilResample.Resize(image, 3, 2, box: PilBox.Whole(3, 2)));
    }

    [Fact]
    public void An_integer_box_of_the_output_size_is_a_crop()
    {
        var image = new SourceImage(3, 3, PixelMode.L, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        Assert.Equal(new byte[] { 5, 6, 8, 9 }, PilResample.Resize(image, 2, 2, box: new PilBox(1, 1, 3, 3)).Pixels);
    }

    [Fact]
    public void Rgba_is_resampled_premultiplied_so_transparent_colour_does_not_bleed()
    {
        // Opaque red beside fully transparent green: premultiplied, the green is 0 and the average is red at alpha 128.
        var image = new SourceImage(2, 1, PixelMode.Rgba, [255, 0, 0, 255, 0, 255, 0, 0]);
        Assert.Equal(new byte[] { 255, 0, 0, 128 }, PilResample.Resize(image, 1, 1).Pixels);
    }

    [Fact]
    public void A_zero_height_box_resamples_the_edge_row()
    {
        var image = new SourceImage(1, 2, PixelMode.L, [10, 50]);
        // Bicubic taps 1.125 and −0.125 on rows 0 and 1.
        Assert.Equal(new byte[] { 5, 5, 5 }, PilResample.Resize(image, 1, 3, PilFilter.Bicubic, new PilBox(0, 0, 1, 0)).Pixels);
    }

    [Theory]
    [InlineData(-1, 0, 2, 2)]
    [InlineData(0, 0, 3, 2)]
    [InlineData(1, 0, 0.5f, 2)]
    public void Boxes_outside_the_image_or_inverted_are_refused(float left, float top, float right, float bottom)
    {
        var image = new SourceImage(2, 2, PixelMode.L, new byte[4]);
        Assert.Throws<ArgumentException>(() => PilResample.Resize(image, 1, 1, box: new PilBox(left, top, right, bottom)));
    }
}
