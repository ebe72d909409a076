using System.Runtime.InteropServices;
using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Lora;

/// <summary>
/// An initializer's fused value W + Σ ΔW, in the initializer's own layout and element type (raw little-endian
/// bytes), ready to override the graph's value when a session is created (SessionOptions.AddInitializer), so the
/// .onnx file is never rewritten.
/// </summary>
public sealed record FusedInitializer(LoraComponent Component, string Name, long[] Dims, TensorProto.Types.DataType ElementType,
    byte[] Data, IReadOnlyList<string> Modules)
{
    /// <summary>The values as float32 (float16/bfloat16 widened).</summary>
    public float[] ToFloats() => ElementType switch
    {
        TensorProto.Types.DataType.Float => MemoryMarshal.Cast<byte, float>(Data).ToArray(),
        TensorProto.Types.DataType.Float16 => Array.ConvertAll(MemoryMarshal.Cast<byte, Half>(Data).ToArray(), h => (float)h),
        _ => Array.ConvertAll(MemoryMarshal.Cast<byte, ushort>(Data).ToArray(), b => BitConverter.Int32BitsToSingle(b << 16)),
    };
}
