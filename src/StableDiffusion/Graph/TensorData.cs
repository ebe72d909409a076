using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>
/// Reads and writes the values of an ONNX <see cref="TensorProto"/> whatever field the exporter stored them in
/// (raw_data, the typed repeated fields, or — with a base directory — external data).
/// </summary>
public static class TensorData
{
    /// <summary>Bytes per element of an ONNX data type, or 0 for types that are not fixed-width (string, 4-bit).</summary>
    public static int ElementSize(TensorProto.Types.DataType type) => type switch
    {
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 => 4,
        TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64
            or TensorProto.Types.DataType.Complex64 => 8,
        TensorProto.Types.DataType.Complex128 => 16,
        TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 or TensorProto.Types.DataType.Int16
            or TensorProto.Types.DataType.Uint16 => 2,
        TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Bool
            or TensorProto.Types.DataType.Float8E4M3Fn or TensorProto.Types.DataType.Float8E4M3Fnuz
            or TensorProto.Types.DataType.Float8E5M2 or TensorProto.Types.DataType.Float8E5M2Fnuz => 1,
        _ => 0,
    };

    /// <summary>The number of elements (the product of the dims; 1 for a scalar).</summary>
    public static long ElementCount(TensorProto tensor)
    {
        long n = 1;
        foreach (var d in tensor.Dims) n *= d;
        return n;
    }

    /// <summary>True when the tensor's values live in an external file (data_location EXTERNAL).</summary>
    public static bool IsExternal(TensorProto tensor) =>
        tensor.HasDataLocation && tensor.DataLocation == TensorProto.Types.DataLocation.External;

    /// <summary>
    /// The tensor's values as little-endian bytes (the raw_data layout). External data is read from
    /// <paramref name="baseDirectory"/> (the folder of the model file), which is required for such tensors.
    /// </summary>
    public static ReadOnlyMemory<byte> GetBytes(TensorProto tensor, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (IsExternal(tensor)) return ExternalDataReference.Parse(tensor).Read(baseDirectory, tensor.Name);
        if (tensor.HasRawData) return tensor.RawData.Memory;

        var type = (TensorProto.Types.DataType)tensor.DataType;
        int size = ElementSize(type);
        if (size == 0)
            throw new NotSupportedException($"Tensor '{tensor.Name}' has data type {type}, which has no fixed-width byte layout.");
        long count = ElementCount(tensor);
        var bytes = new byte[checked(count * size)];
        var span = bytes.AsSpan();
        switch (type)
        {
            case TensorProto.Types.DataType.Float:
            case TensorProto.Types.DataType.Complex64:
                RequireCount(tensor, tensor.FloatData.Count, count * size / 4);
                for (int i = 0; i < tensor.FloatData.Count; i++) BinaryPrimitives.WriteSingleLittleEndian(span[(i * 4)..], tensor.FloatData[i]);
                break;
            case TensorProto.Types.DataType.Double:
            case TensorProto.Types.DataType.Complex128:
                RequireCount(tensor, tensor.DoubleData.Count, count * size / 8);
                for (int i = 0; i < tensor.DoubleData.Count; i++) BinaryPrimitives.WriteDoubleLittleEndian(span[(i * 8)..], tensor.DoubleData[i]);
                break;
            case TensorProto.Types.DataType.Int64:
                RequireCount(tensor, tensor.Int64Data.Count, count);
                for (int i = 0; i < tensor.Int64Data.Count; i++) BinaryPrimitives.WriteInt64LittleEndian(span[(i * 8)..], tensor.Int64Data[i]);
                break;
            case TensorProto.Types.DataType.Uint64:
                RequireCount(tensor, tensor.Uint64Data.Count, count);
                for (int i = 0; i < tensor.Uint64Data.Count; i++) BinaryPrimitives.WriteUInt64LittleEndian(span[(i * 8)..], tensor.Uint64Data[i]);
                break;
            case TensorProto.Types.DataType.Uint32:
                RequireCount(tensor, tensor.Uint64Data.Count, count);
                for (int i = 0; i < tensor.Uint64Data.Count; i++) BinaryPrimitives.WriteUInt32LittleEndian(span[(i * 4)..], (uint)tensor.Uint64Data[i]);
                break;
            default:
                // int32_data carries every type of 32 bits or fewer, one element per entry (float16 as its bit pattern).
                RequireCount(tensor, tensor.Int32Data.Count, count);
                for (int i = 0; i < tensor.Int32Data.Count; i++)
                {
                    int v = tensor.Int32Data[i];
                    switch (size)
                    {
                        case 4: BinaryPrimitives.WriteInt32LittleEndian(span[(i * 4)..], v); break;
                        case 2: BinaryPrimitives.WriteUInt16LittleEndian(span[(i * 2)..], (ushort)v); break;
                        default: span[i] = (byte)v; break;
                    }
                }
                break;
        }
        return bytes;
    }

    /// <summary>The values of a float32 tensor.</summary>
    public static float[] ToFloats(TensorProto tensor, string? baseDirectory = null)
    {
        Require(tensor, TensorProto.Types.DataType.Float);
        return MemoryMarshal.Cast<byte, float>(GetBytes(tensor, baseDirectory).Span).ToArray();
    }

    /// <summary>The values of an int64 tensor.</summary>
    public static long[] ToInt64s(TensorProto tensor, string? baseDirectory = null)
    {
        Require(tensor, TensorProto.Types.DataType.Int64);
        return MemoryMarshal.Cast<byte, long>(GetBytes(tensor, baseDirectory).Span).ToArray();
    }

    /// <summary>
    /// The values of a float tensor of any precision (float32, float64, float16, bfloat16) as doubles; null for
    /// other types. Used to read constants such as attention scales.
    /// </summary>
    public static double[]? ToDoubles(TensorProto tensor, string? baseDirectory = null)
    {
        var type = (TensorProto.Types.DataType)tensor.DataType;
        var bytes = GetBytes(tensor, baseDirectory).Span;
        switch (type)
        {
            case TensorProto.Types.DataType.Float:
                return Array.ConvertAll(MemoryMarshal.Cast<byte, float>(bytes).ToArray(), v => (double)v);
            case TensorProto.Types.DataType.Double:
                return MemoryMarshal.Cast<byte, double>(bytes).ToArray();
            case TensorProto.Types.DataType.Float16:
                return Array.ConvertAll(MemoryMarshal.Cast<byte, Half>(bytes).ToArray(), v => (double)v);
            case TensorProto.Types.DataType.Bfloat16:
                var bf = MemoryMarshal.Cast<byte, ushort>(bytes);
                var result = new double[bf.Length];
                for (int i = 0; i < bf.Length; i++) result[i] = BitConverter.Int32BitsToSingle(bf[i] << 16);
                return result;
            default:
                return null;
        }
    }

    /// <summary>A float32 tensor holding <paramref name="values"/> in raw_data.</summary>
    public static TensorProto FromFloats(string name, ReadOnlySpan<float> values, params long[] dims) =>
        Create(name, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(values), dims);

    /// <summary>An int64 tensor holding <paramref name="values"/> in raw_data.</summary>
    public static TensorProto FromInt64s(string name, ReadOnlySpan<long> values, params long[] dims) =>
        Create(name, TensorProto.Types.DataType.Int64, MemoryMarshal.AsBytes(values), dims);

    /// <summary>A tensor of <paramref name="type"/> whose little-endian values are <paramref name="rawData"/>.</summary>
    public static TensorProto Create(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> rawData, params long[] dims)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw_data is little-endian; big-endian hosts are not supported.");
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(rawData) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    private static void Require(TensorProto tensor, TensorProto.Types.DataType type)
    {
        if (tensor.DataType != (int)type)
            throw new ArgumentException(
                $"Tensor '{tensor.Name}' is {(TensorProto.Types.DataType)tensor.DataType}, not {type}.", nameof(tensor));
    }

    private static void RequireCount(TensorProto tensor, long actual, long expected)
    {
        if (actual != expected)
            throw new FormatException(
                $"Tensor '{tensor.Name}' has {actual} stored values where its dims [{string.Join(", ", tensor.Dims)}] need {expected}.");
    }
}
