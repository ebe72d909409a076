using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Imaging;

/// <summary>PngFile: parameters text round trip, exact pixels, atomic writes.</summary>
public sealed class PngFileTests : IDisposable
{
    private const string UnicodeParameters =
        "a photo of a cat 🐱, café au lait, 日本の猫, Ünïcödé\nNegative prompt: blurry\n" +
        "Steps: 20, Sampler: PNDM, CFG scale: 7.5, Seed: 0, Size: 64x64";

    private readonly string _folder = Directory.CreateTempSubdirectory("sd-png-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathIn(string name) => Path.Combine(_folder, name);

    /// <summary>A reference PNG of the pipeline (real decoded pixels, not a synthetic pattern).</summary>
    private static Image<Rgb24> ReferenceImage() =>
        Image.Load<Rgb24>(Fixtures.ExpectedPath("pipeline-diffusers-0.35", "pndm20_default", "image_0.png"));

    private string[] LeftoverTemporaryFiles() =>
        Directory.GetFiles(_folder).Where(f => f.EndsWith(".tmp", StringComparison.Ordinal)).ToArray();

    [Fact]
    public void UnicodeParametersRoundTripAndPixelsArePreserved()
    {
        using Image<Rgb24> image = ReferenceImage();
        string path = PathIn("cat.png");
        PngFile.Save(image, path, UnicodeParameters);

        Assert.Equal(UnicodeParameters, PngFile.ReadParameters(path));
        IReadOnlyDictionary<string, string> text = PngFile.ReadText(path);
        Assert.Single(text);
        Assert.Equal(UnicodeParameters, text[PngFile.ParametersKeyword]);

        using Image<Rgb24> reloaded = Image.Load<Rgb24>(path);
        ImageConversionTests.AssertSamePixels(image, reloaded, path);
        Assert.Empty(LeftoverTemporaryFiles());
    }

    [Fact]
    public void ParametersAreWrittenAsUtf8ITxtThatImageSharpAlsoReads()
    {
        using Image<Rgb24> image = ReferenceImage();
        string path = PathIn("itxt.png");
        PngFile.Save(image, path, "plain ASCII prompt");

        List<(string Type, byte[] Data)> chunks = RawChunks(File.ReadAllBytes(path));
        Assert.Equal("IHDR", chunks[0].Type);
        Assert.Equal("iTXt", chunks[1].Type); // right after the header, even for ASCII text
        Assert.DoesNotContain(chunks, c => c.Type is "tEXt" or "zTXt");
        Assert.Equal("IEND", chunks[^1].Type);
        // keyword \0, not compressed, method 0, empty language tag \0, empty translated keyword \0, UTF-8 text
        Assert.Equal(Encoding.ASCII.GetBytes("parameters\0\0\0\0\0plain ASCII prompt"), chunks[1].Data);

        // An independent reader (ImageSharp's decoder) sees the same text, including non-ASCII text.
        PngFile.Save(image, path, UnicodeParameters, overwrite: true);
        using Image<Rgb24> decoded = Image.Load<Rgb24>(path);
        PngTextData parameters = Assert.Single(decoded.Metadata.GetPngMetadata().TextData);
        Assert.Equal("parameters", parameters.Keyword);
        Assert.Equal(UnicodeParameters, parameters.Value);
    }

    [Fact]
    public void ReadsTextChunksWrittenByImageSharp()
    {
        // ImageSharp writes tEXt for short Latin-1 text, zTXt above its compression threshold and iTXt for other
        // characters: an independent writer for all three chunk forms.
        string longLatin = string.Concat(Enumerable.Repeat("crème brûlée, ", 200));
        string longUnicode = string.Concat(Enumerable.Repeat("猫 ", 1000));
        using Image<Rgb24> image = ReferenceImage();
        PngMetadata metadata = image.Metadata.GetPngMetadata();
        metadata.TextData.Add(new PngTextData("parameters", "Steps: 20, Sampler: Euler a", string.Empty, string.Empty));
        metadata.TextData.Add(new PngTextData("Comment", longLatin, string.Empty, string.Empty));
        metadata.TextData.Add(new PngTextData("Description", longUnicode, string.Empty, string.Empty));
        string path = PathIn("imagesharp.png");
        image.SaveAsPng(path, new PngEncoder { TextCompressionThreshold = 1024 });

        string[] types = RawChunks(File.ReadAllBytes(path)).Select(c => c.Type).ToArray();
        Assert.Contains("tEXt", types);
        Assert.Contains("zTXt", types);
        Assert.Contains("iTXt", types);

        IReadOnlyDictionary<string, string> text = PngFile.ReadText(path);
        Assert.Equal("Steps: 20, Sampler: Euler a", text["parameters"]);
        Assert.Equal(longLatin, text["Comment"]);
        Assert.Equal(longUnicode, text["Description"]);
        Assert.Equal("Steps: 20, Sampler: Euler a", PngFile.ReadParameters(path));
    }

    [Fact]
    public void SeveralKeywordsAreAllWritten()
    {
        using Image<Rgb24> image = ReferenceImage();
        string path = PathIn("several.png");
        var text = new Dictionary<string, string> { ["parameters"] = "a", ["Software"] = "StableDiffusion ✓" };
        PngFile.SaveWithText(image, path, text);
        Assert.Equal(text, PngFile.ReadText(path));
    }

    [Fact]
    public void FileWithoutTextHasNoParameters()
    {
        string path = Fixtures.ExpectedPath("pipeline-diffusers-0.35", "pndm20_default", "image_0.png");
        Assert.Null(PngFile.ReadParameters(path));
        Assert.Empty(PngFile.ReadText(path));

        using Image<Rgb24> image = ReferenceImage();
        string saved = PathIn("none.png");
        PngFile.Save(image, saved, parameters: null);
        Assert.Null(PngFile.ReadParameters(saved));
    }

    [Fact]
    public void ExistingFileIsNotOverwrittenByDefault()
    {
        using Image<Rgb24> image = ReferenceImage();
        string path = PathIn("exists.png");
        File.WriteAllText(path, "keep me");

        var error = Assert.Throws<IOException>(() => PngFile.Save(image, path, "new"));
        Assert.Contains(path, error.Message);
        Assert.Equal("keep me", File.ReadAllText(path));
        Assert.Empty(LeftoverTemporaryFiles());
        Assert.Single(Directory.GetFiles(_folder));
    }

    [Fact]
    public void OverwriteReplacesTheFile()
    {
        using Image<Rgb24> image = ReferenceImage();
        string path = PathIn("replace.png");
        File.WriteAllText(path, "old");
        PngFile.Save(image, path, "new", overwrite: true);
        Assert.Equal("new", PngFile.ReadParameters(path));
        Assert.Single(Directory.GetFiles(_folder));
    }

    [Fact]
    public void FailedMoveLeavesNoTemporaryFile()
    {
        // The target name is taken by a folder: the final move fails after the temporary file was written.
        using Image<Rgb24> image = ReferenceImage();
        string path = PathIn("taken.png");
        Directory.CreateDirectory(path);

        Exception error = Record.Exception(() => PngFile.Save(image, path, "x", overwrite: true))!;
        Assert.True(error is IOException or UnauthorizedAccessException, error.ToString());
        Assert.Empty(LeftoverTemporaryFiles());
        Assert.True(Directory.Exists(path));
    }

    [Fact]
    public void FailedEncodingLeavesNeitherTargetNorTemporaryFile()
    {
        Image<Rgb24> image = ReferenceImage();
        image.Dispose(); // encoding a disposed image throws while the temporary file is open
        string path = PathIn("broken.png");

        Assert.Throws<ObjectDisposedException>(() => PngFile.Save(image, path, "x"));
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public void MissingFolderIsReported()
    {
        using Image<Rgb24> image = ReferenceImage();
        string path = Path.Combine(_folder, "no-such-folder", "a.png");
        var error = Assert.Throws<DirectoryNotFoundException>(() => PngFile.Save(image, path, "x"));
        Assert.Contains("no-such-folder", error.Message);
    }

    [Fact]
    public void InvalidTextIsRejectedBeforeAnyFileIsCreated()
    {
        using Image<Rgb24> image = ReferenceImage();
        string path = PathIn("invalid.png");
        Assert.Equal("text", Assert.Throws<ArgumentException>(() =>
            PngFile.SaveWithText(image, path, new Dictionary<string, string> { [" bad keyword"] = "x" })).ParamName);
        Assert.Equal("text", Assert.Throws<ArgumentException>(() =>
            PngFile.SaveWithText(image, path, new Dictionary<string, string> { ["parameters"] = "nul\0inside" })).ParamName);
        Assert.Equal("text", Assert.Throws<ArgumentException>(() =>
            PngFile.SaveWithText(image, path, new Dictionary<string, string> { [new string('k', 80)] = "x" })).ParamName);
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public void NonPngAndDamagedFilesAreReported()
    {
        string notPng = PathIn("text.png");
        File.WriteAllText(notPng, "not a png at all");
        Assert.Throws<InvalidDataException>(() => PngFile.ReadParameters(notPng));

        using Image<Rgb24> image = ReferenceImage();
        string path = PathIn("damaged.png");
        PngFile.Save(image, path, "some parameters");
        byte[] bytes = File.ReadAllBytes(path);
        bytes[33 + 8 + 16] ^= 0x20; // flip a bit inside the iTXt text: the CRC no longer matches
        File.WriteAllBytes(path, bytes);
        Assert.Throws<InvalidDataException>(() => PngFile.ReadParameters(path));

        string truncated = PathIn("truncated.png");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, 40).ToArray());
        Assert.Throws<InvalidDataException>(() => PngFile.ReadText(truncated));
    }

    private static List<(string Type, byte[] Data)> RawChunks(byte[] png)
    {
        var chunks = new List<(string, byte[])>();
        for (int position = 8; position < png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(position));
            string type = Encoding.ASCII.GetString(png, position + 4, 4);
            chunks.Add((type, png.AsSpan(position + 8, length).ToArray()));
            position += 12 + length;
        }
        return chunks;
    }
}
