using System.Globalization;
using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>
/// Where an external tensor's bytes are: the external_data keys "location" (a path relative to the model's folder),
/// "offset" and "length" (decimal strings; absent offset = 0, absent length = to the end of the file).
/// </summary>
public sealed record ExternalDataReference(string Location, long Offset, long? Length)
{
    public static ExternalDataReference Parse(TensorProto tensor)
    {
        string? location = null;
        long offset = 0;
        long? length = null;
        foreach (var entry in tensor.ExternalData)
        {
            switch (entry.Key)
            {
                case "location": location = entry.Value; break;
                case "offset": offset = ParseLong(tensor, entry); break;
                case "length": length = ParseLong(tensor, entry); break;
            }
        }
        if (string.IsNullOrEmpty(location))
            throw new FormatException($"Tensor '{tensor.Name}' is marked as external data but has no 'location' entry.");
        return new ExternalDataReference(location, offset, length);
    }

    /// <summary>The full path of the data file under <paramref name="baseDirectory"/>; refuses paths that leave it.</summary>
    public string ResolvePath(string baseDirectory, string tensorName)
    {
        if (Path.IsPathRooted(Location))
            throw new FormatException($"Tensor '{tensorName}' names the absolute external data path '{Location}'; ONNX requires a path relative to the model.");
        var root = Path.GetFullPath(baseDirectory);
        var full = Path.GetFullPath(Path.Combine(root, Location));
        var rootWithSeparator = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSeparator, StringComparison.Ordinal))
            throw new FormatException($"Tensor '{tensorName}' names the external data path '{Location}', which leaves the model's folder '{root}'.");
        return full;
    }

    /// <summary>Reads the referenced bytes.</summary>
    public byte[] Read(string? baseDirectory, string tensorName)
    {
        if (baseDirectory is null)
            throw new InvalidOperationException(
                $"Tensor '{tensorName}' stores its data in the external file '{Location}', but the model was not loaded from a file; " +
                "load it with OnnxGraphFile.Load(path) so that the data file beside it can be found.");
        var path = ResolvePath(baseDirectory, tensorName);
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"The external data file '{Location}' of tensor '{tensorName}' is missing; it must lie beside the model in '{baseDirectory}'.", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
        long length = Length ?? stream.Length - Offset;
        if (Offset < 0 || length < 0 || Offset + length > stream.Length)
            throw new FormatException(
                $"Tensor '{tensorName}' refers to bytes {Offset}..{Offset + length} of '{Location}', which has only {stream.Length} bytes; the data file is truncated or belongs to another model.");
        if (length > Array.MaxLength)
            throw new NotSupportedException($"Tensor '{tensorName}' has {length} bytes of external data; tensors over {Array.MaxLength} bytes cannot be read into memory.");
        var bytes = new byte[length];
        stream.Position = Offset;
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static long ParseLong(TensorProto tensor, StringStringEntryProto entry) =>
        long.TryParse(entry.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new FormatException($"Tensor '{tensor.Name}' has the external data entry {entry.Key}='{entry.Value}', which is not a non-negative integer.");
}
