using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace StableDiffusion.Models;

/// <summary>
/// A tensor in pinned managed memory, allocated once in the element type a graph wants, with an OrtValue over it.
/// Writes and reads convert from and to float32 without allocating, so a denoising step reuses the same memory.
/// </summary>
internal sealed class HostTensor : IDisposable
{
    private readonly Array _data;

    public HostTensor(TensorElementType type, long[] shape)
    {
        Type = type;
        Shape = shape;
        Length = checked((int)shape.Aggregate(1L, (a, b) => a * b));
        // Pinned (POH) so that the CUDA-graph path can copy from a stable address.
        (_data, Value) = type switch
        {
            TensorElementType.Float => Create<float>(),
            TensorElementType.Float16 => Create<Float16>(),
            TensorElementType.Double => Create<double>(),
            TensorElementType.Int64 => Create<long>(),
            TensorElementType.Int32 => Create<int>(),
            _ => throw new NotSupportedException($"Tensors of {type} are not supported here; float32, float16, float64, int64 or int32 are."),
        };
    }

    private (Array, OrtValue) Create<T>() where T : unmanaged
    {
        var array = GC.AllocateArray<T>(Length, pinned: true);
        return (array, OrtValue.CreateTensorValueFromMemory(array, Shape));
    }

    public TensorElementType Type { get; }
    public long[] Shape { get; }
    public int Length { get; }
    public OrtValue Value { get; }

    /// <summary>Bytes of the data.</summary>
    public long ByteLength => (long)Length * ElementSize(Type);

    /// <summary>Address of the first element (stable: the array is pinned).</summary>
    public IntPtr Pointer => Marshal.UnsafeAddrOfPinnedArrayElement(_data, 0);

    public static int ElementSize(TensorElementType type) => type switch
    {
        TensorElementType.Float16 or TensorElementType.BFloat16 => 2,
        TensorElementType.Double or TensorElementType.Int64 => 8,
        _ => 4,
    };

    /// <summary>Stores float32 values in the tensor's element type (float16 rounds to nearest even, as the plain path does).</summary>
    public void Write(ReadOnlySpan<float> values)
    {
        if (values.Length != Length) throw new ArgumentException($"{values.Length} values for a tensor of {Length}.", nameof(values));
        switch (_data)
        {
            case float[] f: values.CopyTo(f); break;
            case Float16[] h: TensorPrimitives.ConvertToHalf(values, MemoryMarshal.Cast<Float16, Half>(h.AsSpan())); break;
            case double[] d: for (int i = 0; i < values.Length; i++) d[i] = values[i]; break;
            default: throw new NotSupportedException($"Float data cannot be written to a {Type} tensor.");
        }
    }

    /// <summary>Sets every element to <paramref name="value"/> (a timestep) converted as the plain UNet path converts it.</summary>
    public void Fill(double value)
    {
        switch (_data)
        {
            case float[] f: Array.Fill(f, (float)value); break;
            case double[] d: Array.Fill(d, value); break;
            case Float16[] h: Array.Fill(h, (Float16)(float)value); break;
            case long[] l: Array.Fill(l, (long)value); break;
            case int[] i: Array.Fill(i, (int)value); break;
        }
    }

    /// <summary>Copies the tensor into <paramref name="destination"/> as float32.</summary>
    public void Read(Span<float> destination)
    {
        if (destination.Length != Length) throw new ArgumentException($"{destination.Length} places for a tensor of {Length}.", nameof(destination));
        switch (_data)
        {
            case float[] f: f.CopyTo(destination); break;
            case Float16[] h: TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<Float16, Half>(h.AsSpan()), destination); break;
            case double[] d: for (int i = 0; i < d.Length; i++) destination[i] = (float)d[i]; break;
            default: throw new NotSupportedException($"A {Type} tensor cannot be read as float.");
        }
    }

    public void Dispose() => Value.Dispose();
}
