using System.Buffers.Binary;
using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Imaging;

public sealed class SourceImageReaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sd-reader-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static IEnumerable<object[]> FixtureInputs() =>
        new[] { "img2img-diffusers-0.35", "inpaint-diffusers-0.35" }.SelectMany(manifest =>
            Fixtures.ReadJson(manifest, "manifest.json").RootElement.GetProperty("inputs").EnumerateObject()
                .Select(p => new object[] { manifest, p.Name }));

    [Theory]
    [MemberData(nameof(FixtureInputs))]
    public void Fixture_inputs_load_in_the_mode_and_size_PIL_reported(string manifest, string name)
    {
        JsonElement input = Fixtures.ReadJson(manifest, "manifest.json").RootElement.GetProperty("inputs").GetProperty(name);
        SourceImage image = SourceImageReader.Load(Fixtures.ExpectedPath(manifest, input.GetProperty("file").GetString()!));

        Assert.Equal(input.GetProperty("mode").GetString(), image.Mode.ToString().ToUpperInvariant());
        int[] size = input.GetProperty("size_wh").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(size, new[] { image.Width, image.Height });
        Assert.EndsWith(name, image.FileName);
    }

    [Fact]
    public void Grey_png_loads_as_L()
    {
        using var source = new Image<L8>(3, 2);
        source[1, 0] = new L8(200);
        SourceImage image = SaveAndLoad(source, new PngEncoder { ColorType = PngColorType.Grayscale });
        Assert.Equal(PixelMode.L, image.Mode);
        Assert.Equal(new byte[] { 0, 200, 0, 0, 0, 0 }, image.Pixels);
    }

    [Fact]
    public void Rgb_png_loads_as_Rgb()
    {
        using var source = new Image<Rgb24>(2, 1);
        source[0, 0] = new Rgb24(1, 2, 3);
        source[1, 0] = new Rgb24(250, 128, 7);
        SourceImage image = SaveAndLoad(source, new PngEncoder { ColorType = PngColorType.Rgb });
        Assert.Equal(PixelMode.Rgb, image.Mode);
        Assert.Equal(new byte[] { 1, 2, 3, 250, 128, 7 }, image.Pixels);
    }

    [Fact]
    public void Rgba_png_loads_as_Rgba_even_when_opaque()
    {
        using var source = new Image<Rgba32>(2, 1);
        source[0, 0] = new Rgba32(1, 2, 3, 255);
        source[1, 0] = new Rgba32(9, 8, 7, 255);
        SourceImage image = SaveAndLoad(source, new PngEncoder { ColorType = PngColorType.RgbWithAlpha });
        Assert.Equal(PixelMode.Rgba, image.Mode);
        Assert.Equal(new byte[] { 1, 2, 3, 255, 9, 8, 7, 255 }, image.Pixels);
    }

    [Fact]
    public void Grey_alpha_png_loads_as_Rgba_with_the_grey_replicated()
    {
        using var source = new Image<La16>(1, 1);
        source[0, 0] = new La16(90, 40);
        SourceImage image = SaveAndLoad(source, new PngEncoder { ColorType = PngColorType.GrayscaleWithAlpha });
        Assert.Equal(PixelMode.Rgba, image.Mode);
        Assert.Equal(new byte[] { 90, 90, 90, 40 }, image.Pixels);
    }

    [Fact]
    public void Paletted_png_loads_as_Rgb_without_transparency_and_Rgba_with_it()
    {
        using var opaque = new Image<Rgba32>(2, 1);
        opaque[0, 0] = new Rgba32(255, 0, 0, 255);
        opaque[1, 0] = new Rgba32(0, 0, 255, 255);
        SourceImage rgb = SaveAndLoad(opaque, new PngEncoder { ColorType = PngColorType.Palette });
        Assert.Equal(PixelMode.Rgb, rgb.Mode);
        Assert.Equal(new byte[] { 255, 0, 0, 0, 0, 255 }, rgb.Pixels);

        using var transparent = new Image<Rgba32>(2, 1);
        transparent[0, 0] = new Rgba32(255, 0, 0, 255);
        transparent[1, 0] = new Rgba32(0, 0, 0, 0);
        SourceImage rgba = SaveAndLoad(transparent, new PngEncoder { ColorType = PngColorType.Palette });
        Assert.Equal(PixelMode.Rgba, rgba.Mode);
        Assert.Equal(new byte[] { 255, 0, 0, 255 }, rgba.Pixels[..4]);
        Assert.Equal(0, rgba.Pixels[7]);
    }

    [Fact]
    public void Sixteen_bit_rgb_keeps_the_high_byte()
    {
        using var source = new Image<Rgb48>(1, 1);
        source[0, 0] = new Rgb48(0x12FF, 0xAB00, 0xFFFF);
        SourceImage image = SaveAndLoad(source, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit16 });
        Assert.Equal(PixelMode.Rgb, image.Mode);
        Assert.Equal(new byte[] { 0x12, 0xAB, 0xFF }, image.Pixels);
    }

    [Fact]
    public void Sixteen_bit_grey_clips_to_255_as_PIL_mode_I()
    {
        using var source = new Image<L16>(3, 1);
        source[0, 0] = new L16(7);
        source[1, 0] = new L16(255);
        source[2, 0] = new L16(0x8000);
        SourceImage image = SaveAndLoad(source, new PngEncoder { ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit16 });
        Assert.Equal(PixelMode.L, image.Mode);
        Assert.Equal(new byte[] { 7, 255, 255 }, image.Pixels);
    }

    [Fact]
    public void Jpeg_loads_as_L_when_grey_and_Rgb_when_colour()
    {
        using var grey = new Image<L8>(8, 8, new L8(77));
        SourceImage l = SaveAndLoad(grey, new JpegEncoder { ColorType = JpegColorType.Luminance }, "jpg");
        Assert.Equal(PixelMode.L, l.Mode);
        Assert.All(l.Pixels, p => Assert.InRange(p, 76, 78));

        using var colour = new Image<Rgb24>(8, 8, new Rgb24(200, 30, 60));
        Assert.Equal(PixelMode.Rgb, SaveAndLoad(colour, new JpegEncoder(), "jpg").Mode);
    }

    [Fact]
    public void Gif_loads_as_Rgb_when_opaque_and_Rgba_with_transparency()
    {
        using var opaque = new Image<Rgba32>(2, 1, new Rgba32(0, 0, 255, 255));
        Assert.Equal(PixelMode.Rgb, SaveAndLoad(opaque, new GifEncoder(), "gif").Mode);

        using var transparent = new Image<Rgba32>(2, 1, new Rgba32(0, 0, 255, 255));
        transparent[1, 0] = new Rgba32(0, 0, 0, 0);
        Assert.Equal(PixelMode.Rgba, SaveAndLoad(transparent, new GifEncoder(), "gif").Mode);
    }

    [Fact]
    public void Missing_file_is_FileNotFoundException()
    {
        string path = Path.Combine(_folder, "missing.png");
        var e = Assert.Throws<FileNotFoundException>(() => SourceImageReader.Load(path));
        Assert.Contains("missing.png", e.Message);
    }

    [Fact]
    public void Non_image_file_is_InvalidDataException_naming_the_file()
    {
        string path = Path.Combine(_folder, "notes.png");
        File.WriteAllText(path, "this is not an image, just some text that is long enough to be sniffed");
        var e = Assert.Throws<InvalidDataException>(() => SourceImageReader.Load(path));
        Assert.Contains("notes.png", e.Message);
        Assert.Contains("not an image", e.Message);
    }

    [Fact]
    public void Truncated_png_is_InvalidDataException_naming_the_file()
    {
        byte[] whole = File.ReadAllBytes(Fixtures.ExpectedPath("img2img-diffusers-0.35", "inputs", "img_64x64.png"));
        string path = Path.Combine(_folder, "truncated.png");
        File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => SourceImageReader.Load(path));
        Assert.Contains("truncated.png", e.Message);
    }

    [Fact]
    public void Declared_size_over_the_limit_is_refused_before_decoding()
    {
        string path = Path.Combine(_folder, "bomb.png");
        using (var tiny = new Image<L8>(1, 1))
            tiny.SaveAsPng(path);
        byte[] png = File.ReadAllBytes(path);
        // IHDR: length (8..11), type (12..15), width (16..19), height (20..23), ..., CRC over type + data (29..32).
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), 100_000);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), 100_000);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), PngCrc32.Compute(png.AsSpan(12, 4), png.AsSpan(16, 13)));
        File.WriteAllBytes(path, png);

        var e = Assert.Throws<InvalidDataException>(() => SourceImageReader.Load(path));
        Assert.Contains("bomb.png", e.Message);
        Assert.Contains("100000×100000", e.Message);
        Assert.Contains(SourceImageReader.MaxImagePixels.ToString("N0"), e.Message);
    }

    [Fact]
    public void In_memory_image_keeps_the_given_name()
    {
        using var source = new Image<Rgb24>(1, 1);
        SourceImage image = SourceImageReader.FromImage(source, "x.png");
        Assert.Equal(PixelMode.Rgb, image.Mode);
        Assert.Equal("x.png", image.FileName);
    }

    private SourceImage SaveAndLoad(Image image, IImageEncoder encoder, string extension = "png")
    {
        string path = Path.Combine(_folder, $"{Guid.NewGuid():N}.{extension}");
        image.Save(path, encoder);
        return SourceImageReader.Load(path);
    }
}
