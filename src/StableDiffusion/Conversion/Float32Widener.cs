using System.Runtime.InteropServices;
using Google.Protobuf;
using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;
using DataType = StableDiffusion.Graph.Onnx.TensorProto.Types.DataType;

namespace StableDiffusion.Conversion;

/// <summary>
/// Turns a float16 graph back into float32 (float16 values cast up exactly, float16 types and Cast targets to float32):
/// the float32 computation with the float16 weights, which runs on every provider. Checks a conversion without a GPU.
/// </summary>
public static class Float32Widener
{
    /// <summary>Widens <paramref name="file"/>'s main graph in place; returns the number of tensors widened.</summary>
    public static int Widen(OnnxGraphFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var graph = file.Graph;
        int widened = 0;
        foreach (var tensor in graph.Initializer)
            if (tensor.DataType == (int)DataType.Float16)
            {
                SetFloat(tensor, file.GetTensorBytes(tensor).Span);
                widened++;
            }
        foreach (var node in graph.Node)
        {
            if (GraphIndex.Subgraphs(node).Any())
                throw new NotSupportedException($"Node '{node.Name}' ({node.OpType}) holds a subgraph; control flow is not supported here.");
            foreach (var a in node.Attribute)
            {
                if (a.T is { DataType: (int)DataType.Float16 } t)
                {
                    SetFloat(t, TensorData.GetBytes(t).Span);
                    widened++;
                }
                if (a.Name is "to" or "dtype" && a.I == (long)DataType.Float16) a.I = (long)DataType.Float;
            }
        }
        foreach (var info in graph.Input.Concat(graph.Output).Concat(graph.ValueInfo))
            if (info.Type?.TensorType is { ElemType: (int)DataType.Float16 } tensorType)
                tensorType.ElemType = (int)DataType.Float;
        Float16Converter.SetMetadata(file.Model, Float16Converter.PrecisionMetadataKey, "float32");
        file.InvalidateIndex();
        return widened;
    }

    private static void SetFloat(TensorProto tensor, ReadOnlySpan<byte> halfBytes)
    {
        var half = MemoryMarshal.Cast<byte, Half>(halfBytes);
        var values = new float[half.Length];
        for (int i = 0; i < half.Length; i++) values[i] = (float)half[i];
        tensor.DataType = (int)DataType.Float;
        tensor.Int32Data.Clear();
        tensor.ExternalData.Clear();
        tensor.ClearDataLocation();
        tensor.RawData = UnsafeByteOperations.UnsafeWrap(MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    }
}
