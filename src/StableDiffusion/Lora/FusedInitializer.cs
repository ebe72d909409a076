using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
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
    /// <summary>
    /// A CPU tensor over a copy of the values, for SessionOptions.AddInitializer; keep it alive (and dispose it) with
    /// the session that uses it, as ONNX Runtime reads it in place.
    /// </summary>
    public OrtValue ToOrtValue() => ElementType switch
    {
        TensorProto.Types.DataType.Float => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, float>(Data).ToArray(), Dims),
        TensorProto.Types.DataType.Float16 => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, Float16>(Data).ToArray(), Dims),
        _ => throw new NotSupportedException($"Initializer '{Name}' is {ElementType}; only float32 and float16 overrides are made."),
    };

    /// <summary>The values as float32 (float16/bfloat16 widened).</summary>
    public float[] ToFloats() => ElementType switch
    {
        TensorProto.Types.DataType.Float => MemoryMarshal.Cast<byte, float>(Data).ToArray(),
        TensorProto.Types.DataType.Float16 => Array.ConvertAll(MemoryMarshal.Cast<byte, Half>(Data).ToArray(), h => (float)h),
        _ => Array.ConvertAll(MemoryMarshal.Cast<byte, ushort>(Data).ToArray(), b => BitConverter.Int32BitsToSingle(b << 16)),
    };
}
