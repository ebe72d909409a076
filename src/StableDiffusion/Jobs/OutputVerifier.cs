using System.Text.Json;
using System.Text.Json.Nodes;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StableDiffusion.Imaging;

namespace StableDiffusion.Jobs;

/// <summary>
/// Decides whether an existing file already is an item's image. A name proves nothing: the PNG must carry the job
/// record with the item's identity, its generation parameters must agree with what the job asks for, and its pixels
/// must decode to the expected size (a damaged file fails its checksums).
/// </summary>
public static class OutputVerifier
{
    /// <summary>The PNG text chunk that marks a job's output: {"id": identity, "index": item index}.</summary>
    public const string JobKey = "sd-job";

    /// <summary>The job record to write into an item's PNG.</summary>
    public static string JobRecord(RenderItem item) => new JsonObject { ["id"] = item.Identity, ["index"] = item.Index }.ToJsonString();

    public static OutputCheck Check(RenderItem item)
    {
        if (!File.Exists(item.Path)) return new OutputCheck(OutputState.Missing);
        IReadOnlyDictionary<string, string> text;
        try
        {
            text = PngFile.ReadText(item.Path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return new OutputCheck(OutputState.Damaged, e.Message);
        }

        if (!text.TryGetValue(JobKey, out var record))
            return new OutputCheck(OutputState.Foreign, $"'{item.Path}' exists and was not written by a render job; move it away or change NameTemplate.");
        string? id;
        try { id = (JsonNode.Parse(record) as JsonObject)?["id"]?.GetValue<string>(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException) { id = null; }
        if (id is null) return new OutputCheck(OutputState.Damaged, $"its '{JobKey}' record cannot be read");
        if (id != item.Identity) return new OutputCheck(OutputState.Outdated, "it was rendered with other parameters");

        GenerationParameters recorded;
        try { recorded = GenerationParameters.Parse(text); }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException) { return new OutputCheck(OutputState.Damaged, e.Message); }
        if (Difference(recorded, item.Expected) is { } difference)
            return new OutputCheck(OutputState.Outdated, $"its parameters differ: {difference}");

        if (ChunkDamage(item.Path) is { } damage) return new OutputCheck(OutputState.Damaged, damage);
        try
        {
            using var image = Image.Load<Rgb24>(item.Path);
            if (image.Width != item.Expected.Width || image.Height != item.Expected.Height)
                return new OutputCheck(OutputState.Damaged, $"it is {image.Width}×{image.Height}, not {item.Expected.Width}×{item.Expected.Height}");
        }
        catch (Exception e) when (e is ImageFormatException or UnknownImageFormatException or InvalidDataException or IOException or InvalidImageContentException)
        {
            return new OutputCheck(OutputState.Damaged, $"its pixels cannot be read: {e.Message}");
        }
        return new OutputCheck(OutputState.Verified);
    }

    /// <summary>Checks every chunk's CRC up to IEND (the decoder may not): a flipped bit anywhere is found.</summary>
    private static string? ChunkDamage(string path)
    {
        byte[] png;
        try { png = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return e.Message; }
        int position = 8;
        while (position + 12 <= png.Length)
        {
            uint length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(position));
            if (length > png.Length - position - 12) return "a chunk runs past the end of the file";
            var type = png.AsSpan(position + 4, 4);
            var data = png.AsSpan(position + 8, (int)length);
            uint stored = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(position + 8 + (int)length));
            if (stored != PngCrc32.Compute(type, data)) return $"its {System.Text.Encoding.ASCII.GetString(type)} chunk fails its CRC check";
            if (type.SequenceEqual("IEND"u8)) return null;
            position += 12 + (int)length;
        }
        return "it ends before the IEND chunk";
    }

    /// <summary>
    /// The first generation parameter where <paramref name="actual"/> differs from <paramref name="expected"/>, or null.
    /// Precision is compared only when expected (the job pins it); no negative prompt equals an empty one.
    /// </summary>
    public static string? Difference(GenerationParameters actual, GenerationParameters expected)
    {
        if (actual.Prompt != expected.Prompt) return "prompt";
        if ((actual.NegativePrompt ?? "") != (expected.NegativePrompt ?? "")) return "negative prompt";
        if (actual.Seed != expected.Seed) return $"seed {actual.Seed}, not {expected.Seed}";
        if (actual.Steps != expected.Steps) return $"steps {actual.Steps}, not {expected.Steps}";
        if (actual.GuidanceScale != expected.GuidanceScale) return $"guidance scale {actual.GuidanceScale}, not {expected.GuidanceScale}";
        if (actual.GuidanceRescale != expected.GuidanceRescale) return $"guidance rescale {actual.GuidanceRescale}, not {expected.GuidanceRescale}";
        if (actual.Eta != expected.Eta) return $"eta {actual.Eta}, not {expected.Eta}";
        if (actual.Width != expected.Width || actual.Height != expected.Height) return $"size {actual.Width}×{actual.Height}, not {expected.Width}×{expected.Height}";
        if (actual.Scheduler != expected.Scheduler) return $"scheduler {actual.Scheduler}, not {expected.Scheduler}";
        string a = RenderIdentity.CanonicalOptions(actual.SchedulerOptions).ToJsonString(), e = RenderIdentity.CanonicalOptions(expected.SchedulerOptions).ToJsonString();
        if (a != e) return $"scheduler options {a}, not {e}";
        if (actual.Model != expected.Model) return $"model {actual.Model}, not {expected.Model}";
        if (actual.Vae != expected.Vae) return $"VAE {actual.Vae ?? "(the model's)"}, not {expected.Vae ?? "(the model's)"}";
        if (actual.InitImage?.Sha256 != expected.InitImage?.Sha256) return $"init image {Describe(actual.InitImage)}, not {Describe(expected.InitImage)}";
        if (actual.Mask?.Sha256 != expected.Mask?.Sha256) return $"mask {Describe(actual.Mask)}, not {Describe(expected.Mask)}";
        if (actual.Strength != expected.Strength) return $"strength {actual.Strength?.ToString() ?? "(none)"}, not {expected.Strength?.ToString() ?? "(none)"}";
        if (actual.MaskCropPadding != expected.MaskCropPadding) return $"mask crop padding {actual.MaskCropPadding?.ToString() ?? "(none)"}, not {expected.MaskCropPadding?.ToString() ?? "(none)"}";
        if (actual.Loras != expected.Loras) return $"LoRAs {actual.Loras ?? "(none)"}, not {expected.Loras ?? "(none)"}";
        string sa = Sdxl(actual), se = Sdxl(expected);
        if (sa != se) return $"SDXL settings {sa}, not {se}";
        if (expected.Precision is not null && actual.Precision != expected.Precision) return $"precision {actual.Precision}, not {expected.Precision}";
        return null;
    }

    private static string Sdxl(GenerationParameters p)
    {
        var o = new JsonObject();
        p.AddSdxlJson(o);
        return o.ToJsonString();
    }

    private static string Describe(SourceImageRecord? image) => image?.ToString() ?? "(none)";
}
