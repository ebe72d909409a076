using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace StableDiffusion.Imaging;

/// <summary>
/// Saves 8-bit RGB PNGs with generation parameters in text chunks (the <c>parameters</c> keyword that Stable
/// Diffusion tools read) and reads them back. Files are written atomically: a crash or error never leaves a
/// partial PNG under the target name.
/// </summary>
public static class PngFile
{
    /// <summary>The text keyword that holds the generation parameters (as AUTOMATIC1111's web UI writes it).</summary>
    public const string ParametersKeyword = "parameters";

    /// <summary>Saves <paramref name="image"/> with <paramref name="parameters"/> (if not null) under the <c>parameters</c> keyword.</summary>
    /// <param name="image">The pixels to save.</param>
    /// <param name="path">Target file; its folder must exist.</param>
    /// <param name="parameters">Generation parameters text, or null for none.</param>
    /// <param name="overwrite">When false, an existing file is an error (IOException) and is left untouched.</param>
    /// <exception cref="IOException">The file exists and <paramref name="overwrite"/> is false, or the write failed.</exception>
    public static void Save(Image<Rgb24> image, string path, string? parameters, bool overwrite = false) =>
        SaveWithText(image, path,
            parameters is null
                ? new Dictionary<string, string>()
                : new Dictionary<string, string> { [ParametersKeyword] = parameters },
            overwrite);

    /// <summary>Saves <paramref name="image"/> with one iTXt chunk (UTF-8) per entry of <paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">A keyword is not a valid PNG keyword or a text contains NUL.</exception>
    public static void SaveWithText(Image<Rgb24> image, string path, IReadOnlyDictionary<string, string> text, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(text);
        // Build (and validate) the chunks before any file is created.
        List<byte[]> chunks = BuildChunks(text);
        AtomicFile.Write(path, overwrite, stream => Write(image, stream, chunks));
    }

    /// <summary>Writes <paramref name="image"/> as PNG with the given text chunks to <paramref name="destination"/>.</summary>
    public static void Write(Image<Rgb24> image, Stream destination, IReadOnlyDictionary<string, string> text)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(text);
        Write(image, destination, BuildChunks(text));
    }

    /// <summary>The <c>parameters</c> text of a PNG, or null when it has none.</summary>
    /// <exception cref="InvalidDataException">The file is not a PNG or is damaged.</exception>
    public static string? ReadParameters(string path) =>
        ReadText(path).TryGetValue(ParametersKeyword, out string? value) ? value : null;

    /// <summary>All tEXt, zTXt and iTXt chunks of a PNG file as keyword → text (first occurrence wins).</summary>
    /// <exception cref="InvalidDataException">The file is not a PNG or is damaged.</exception>
    public static IReadOnlyDictionary<string, string> ReadText(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return PngTextChunks.Read(stream, path);
    }

    /// <summary>All text chunks of a PNG stream (read from its current position).</summary>
    public static IReadOnlyDictionary<string, string> ReadText(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return PngTextChunks.Read(stream, "stream");
    }

    private static List<byte[]> BuildChunks(IReadOnlyDictionary<string, string> text) =>
        text.Select(entry => PngTextChunks.BuildInternationalText(entry.Key, entry.Value, nameof(text))).ToList();

    private static void Write(Image<Rgb24> image, Stream destination, List<byte[]> textChunks)
    {
        // ImageSharp writes the pixels (and nothing optional); the text goes in right after IHDR, where it can be
        // read without touching the image data.
        var encoder = new PngEncoder
        {
            ColorType = PngColorType.Rgb,
            BitDepth = PngBitDepth.Bit8,
            ChunkFilter = PngChunkFilter.ExcludeAll,
        };
        using var encoded = new MemoryStream();
        image.SaveAsPng(encoded, encoder);
        ReadOnlySpan<byte> png = encoded.GetBuffer().AsSpan(0, (int)encoded.Length);

        int headerEnd = PngTextChunks.HeaderEnd(png);
        destination.Write(png[..headerEnd]);
        foreach (byte[] chunk in textChunks)
            destination.Write(chunk);
        destination.Write(png[headerEnd..]);
    }
}
