using System.Text;
using System.Text.Json;

namespace StableDiffusion.Tests.Lora;

/// <summary>Writes small .safetensors files for tests, valid or deliberately broken (the header is written as given).</summary>
internal static class SafetensorsBuilder
{
    public sealed record Entry(string Name, string DType, long[] Shape, byte[] Data);

    public static Entry F32(string name, long[] shape, params float[] values) =>
        new(name, "F32", shape, values.SelectMany(BitConverter.GetBytes).ToArray());

    /// <summary>A well-formed file: tensors laid out contiguously in the given order.</summary>
    public static byte[] Build(IEnumerable<Entry> entries, IDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>();
        if (metadata is not null) header["__metadata__"] = metadata;
        long offset = 0;
        var data = new List<byte>();
        foreach (var e in entries)
        {
            header[e.Name] = new { dtype = e.DType, shape = e.Shape, data_offsets = new[] { offset, offset + e.Data.Length } };
            offset += e.Data.Length;
            data.AddRange(e.Data);
        }
        return Raw(JsonSerializer.Serialize(header), data.ToArray());
    }

    /// <summary>A header text and data area written verbatim (the length prefix is the header's byte count).</summary>
    public static byte[] Raw(string headerJson, byte[] data) => Raw(Encoding.UTF8.GetBytes(headerJson), data);

    public static byte[] Raw(byte[] header, byte[] data, ulong? claimedHeaderLength = null)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BitConverter.GetBytes(claimedHeaderLength ?? (ulong)header.Length).CopyTo(bytes, 0);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    /// <summary>Writes bytes to a fresh temporary file with the given extension and returns its path.</summary>
    public static string WriteTemp(byte[] bytes, string extension = ".safetensors")
    {
        var dir = Path.Combine(Path.GetTempPath(), "sd-lora-tests");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, Guid.NewGuid().ToString("N") + extension);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
