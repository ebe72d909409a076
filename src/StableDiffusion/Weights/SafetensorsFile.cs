using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace StableDiffusion.Weights;

/// <summary>
/// A memory-mapped .safetensors file: an 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the raw
/// little-endian tensor bytes. The header is validated strictly on open (the checks of the Rust crate: offsets in
/// order, contiguous, inside the data area, sizes matching shape × element size), so a hostile file fails with a
/// <see cref="SafetensorsFormatException"/> before any tensor is touched.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The largest header accepted (the Rust crate's limit); a bigger claim is a corrupt or hostile file.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly string[] PickleExtensions = [".pt", ".pth", ".ckpt", ".bin", ".pkl"];
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _data;
    private readonly Dictionary<string, SafetensorsTensorInfo> _tensors;
    private bool _disposed;

    private SafetensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* data,
        Dictionary<string, SafetensorsTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        FilePath = path;
        _map = map;
        _view = view;
        _data = data;
        _tensors = tensors;
        Metadata = metadata;
    }

    public string FilePath { get; }

    /// <summary>The header's <c>__metadata__</c> string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors in file order.</summary>
    public IEnumerable<SafetensorsTensorInfo> Tensors => _tensors.Values.OrderBy(t => t.Begin).ThenBy(t => t.Name, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Names => _tensors.Keys;

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public SafetensorsTensorInfo this[string name] =>
        _tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"'{FilePath}' has no tensor '{name}'.");

    /// <summary>Refuses pickle checkpoints by extension, without opening them.</summary>
    public static void RefusePickle(string path)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (PickleExtensions.Contains(ext))
            throw new UnsupportedWeightsFormatException(path,
                $"'{path}' is a PyTorch pickle checkpoint ({ext}); pickle files can run code when loaded and are never opened. " +
                "Convert it to .safetensors (for example with safetensors.torch.save_file(torch.load(path, weights_only=True), 'out.safetensors') in Python) and use that file.");
    }

    /// <summary>Opens and validates a file; the tensors stay on disk (memory-mapped) until read.</summary>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        RefusePickle(full);
        if (!File.Exists(full)) throw new FileNotFoundException($"The safetensors file '{full}' does not exist.", full);
        long length = new FileInfo(full).Length;
        if (length < 8)
            throw new SafetensorsFormatException(full, null, $"the file is {length} bytes, shorter than the 8-byte header length; it is truncated or not a safetensors file.");

        var map = MemoryMappedFile.CreateFromFile(full, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        bool acquired = false;
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* basePtr = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
            acquired = true;
            basePtr += view.PointerOffset;
            ulong headerLength = Unsafe.ReadUnaligned<ulong>(basePtr);
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors reading needs a little-endian machine.");
            if (headerLength > (ulong)(length - 8))
                throw new SafetensorsFormatException(full, null,
                    $"the header length {headerLength} points past the end of the file ({length} bytes); the file is truncated or corrupt.");
            if (headerLength > MaxHeaderBytes)
                throw new SafetensorsFormatException(full, null, $"the header claims {headerLength} bytes, over the {MaxHeaderBytes}-byte limit.");
            if (headerLength < 2)
                throw new SafetensorsFormatException(full, null, $"the header is {headerLength} bytes, too short for a JSON object.");
            var header = new ReadOnlySpan<byte>(basePtr + 8, (int)headerLength);
            long dataLength = length - 8 - (long)headerLength;
            var (tensors, metadata) = ParseHeader(full, header, dataLength);
            var file = new SafetensorsFile(full, map, view, basePtr + 8 + (long)headerLength, tensors, metadata);
            return file;
        }
        catch
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    private static (Dictionary<string, SafetensorsTensorInfo>, Dictionary<string, string>) ParseHeader(string path, ReadOnlySpan<byte> header, long dataLength)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(header);
        }
        catch (DecoderFallbackException)
        {
            throw new SafetensorsFormatException(path, null, "the header is not valid UTF-8.");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new SafetensorsFormatException(path, null, $"the header is not valid JSON ({e.Message}).");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafetensorsFormatException(path, null, $"the header is a JSON {doc.RootElement.ValueKind}, not an object.");
            var tensors = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            bool sawMetadata = false;
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    if (sawMetadata) throw new SafetensorsFormatException(path, null, "the header has '__metadata__' twice.");
                    sawMetadata = true;
                    ReadMetadata(path, property.Value, metadata);
                    continue;
                }
                if (tensors.ContainsKey(property.Name))
                    throw new SafetensorsFormatException(path, property.Name, "the header names this tensor twice.");
                tensors[property.Name] = ReadTensor(path, property.Name, property.Value, dataLength);
            }
            CheckLayout(path, tensors.Values, dataLength);
            return (tensors, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(path, null, "'__metadata__' must be an object of strings.");
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsFormatException(path, null, $"'__metadata__' entry '{entry.Name}' is a {entry.Value.ValueKind}, not a string.");
            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static SafetensorsTensorInfo ReadTensor(string path, string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(path, name, "the entry is not an object with dtype, shape and data_offsets.");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new SafetensorsFormatException(path, name, "'dtype' is missing or not a string.");
        var dtypeName = dtypeElement.GetString()!;
        if (!Enum.GetNames<SafetensorsDType>().Contains(dtypeName) || !Enum.TryParse<SafetensorsDType>(dtypeName, out var dtype))
            throw new SafetensorsFormatException(path, name, $"dtype '{dtypeName}' is not a safetensors element type.");
        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new SafetensorsFormatException(path, name, "'shape' is missing or not an array.");
        var shape = new long[shapeElement.GetArrayLength()];
        int i = 0;
        long bytes = SafetensorsTensorInfo.ElementSize(dtype);
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var dim) || dim < 0)
                throw new SafetensorsFormatException(path, name, $"shape entry {d} is not a non-negative integer.");
            shape[i++] = dim;
            // A product past the data area is absurd whatever the overflow: stop before it can overflow.
            if (dim != 0 && bytes > dataLength / dim)
                throw new SafetensorsFormatException(path, name,
                    $"shape [{string.Join(", ", shapeElement.EnumerateArray())}] claims more bytes than the file's {dataLength}-byte data area holds.");
            bytes *= dim;
        }
        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new SafetensorsFormatException(path, name, "'data_offsets' must be an array [begin, end].");
        if (!offsets[0].TryGetInt64(out var begin) || !offsets[1].TryGetInt64(out var end) || begin < 0 || end < begin)
            throw new SafetensorsFormatException(path, name, $"data_offsets [{offsets[0]}, {offsets[1]}] are not integers with 0 <= begin <= end.");
        if (end > dataLength)
            throw new SafetensorsFormatException(path, name, $"data_offsets [{begin}, {end}] run past the {dataLength}-byte data area.");
        if (end - begin != bytes)
            throw new SafetensorsFormatException(path, name,
                $"shape [{string.Join(", ", shape)}] of {dtype} needs {bytes} bytes but data_offsets [{begin}, {end}] span {end - begin}.");
        return new SafetensorsTensorInfo(name, dtype, shape, begin, end);
    }

    private static void CheckLayout(string path, IEnumerable<SafetensorsTensorInfo> tensors, long dataLength)
    {
        // As the Rust crate: sorted by offset the tensors must tile the data area exactly (no overlap, no gap).
        long expected = 0;
        foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin < expected)
                throw new SafetensorsFormatException(path, t.Name, $"data_offsets [{t.Begin}, {t.End}] overlap the previous tensor (which ends at {expected}).");
            if (t.Begin > expected)
                throw new SafetensorsFormatException(path, t.Name, $"data_offsets [{t.Begin}, {t.End}] leave a gap after byte {expected}.");
            expected = t.End;
        }
        if (expected != dataLength)
            throw new SafetensorsFormatException(path, null, $"the tensors cover {expected} bytes but the data area holds {dataLength}; the file is truncated or has trailing bytes.");
    }

    /// <summary>The raw little-endian bytes of a tensor (valid until the file is disposed).</summary>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var t = this[name];
        return new ReadOnlySpan<byte>(_data + t.Begin, checked((int)(t.End - t.Begin)));
    }

    /// <summary>A float tensor (F32, F16 or BF16) as float32.</summary>
    public float[] ReadFloats(string name)
    {
        var t = this[name];
        var result = new float[checked((int)t.ElementCount)];
        ReadFloats(name, result);
        return result;
    }

    /// <summary>A float tensor (F32, F16 or BF16) converted into <paramref name="destination"/>.</summary>
    public void ReadFloats(string name, Span<float> destination)
    {
        var t = this[name];
        if (!t.IsReadableFloat)
            throw new SafetensorsFormatException(FilePath, name, $"dtype {t.DType} is not a float weight type; only F32, F16 and BF16 are read.");
        if (destination.Length != t.ElementCount)
            throw new ArgumentException($"The destination holds {destination.Length} values but tensor '{name}' has {t.ElementCount}.", nameof(destination));
        var bytes = GetBytes(name);
        switch (t.DType)
        {
            case SafetensorsDType.F32:
                bytes.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination));
                break;
            case SafetensorsDType.F16:
                // Offsets need not be aligned (an F16 alpha is 2 bytes), so read element by element.
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = (float)BitConverter.UInt16BitsToHalf(Unsafe.ReadUnaligned<ushort>(ref Unsafe.AsRef(in bytes[i * 2])));
                break;
            default:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = BitConverter.Int32BitsToSingle(Unsafe.ReadUnaligned<ushort>(ref Unsafe.AsRef(in bytes[i * 2])) << 16);
                break;
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view?.SafeMemoryMappedViewHandle.ReleasePointer();
        _view?.Dispose();
        _map?.Dispose();
    }
}
