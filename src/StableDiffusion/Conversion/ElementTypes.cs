using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;
using DataType = StableDiffusion.Graph.Onnx.TensorProto.Types.DataType;

namespace StableDiffusion.Conversion;

/// <summary>
/// The element type of every tensor of a graph, inferred node by node in graph order from the inputs, initializers
/// and ONNX's typing rules (exporters such as torch's rarely write value_info for intermediate tensors). Only the
/// element type is inferred, not shapes: that is what a precision conversion needs.
/// </summary>
public sealed class ElementTypes
{
    private readonly Dictionary<string, DataType> _types = new(StringComparer.Ordinal);

    private ElementTypes() { }

    /// <summary>The element type of <paramref name="tensor"/>, or Undefined when it cannot be known.</summary>
    public DataType this[string tensor] => tensor.Length > 0 && _types.TryGetValue(tensor, out var t) ? t : DataType.Undefined;

    public bool IsFloat32(string tensor) => this[tensor] == DataType.Float;

    public static DataType Of(TypeProto? type) =>
        type?.TensorType is { } tensor ? (DataType)tensor.ElemType : DataType.Undefined;

    /// <exception cref="NotSupportedException">The graph has control flow (If/Loop/Scan), whose bodies are not typed here.</exception>
    public static ElementTypes Infer(GraphProto graph)
    {
        var result = new ElementTypes();
        var declared = new Dictionary<string, DataType>(StringComparer.Ordinal);
        foreach (var v in graph.ValueInfo.Concat(graph.Output)) declared[v.Name] = Of(v.Type);
        foreach (var v in graph.Input) result._types[v.Name] = Of(v.Type);
        foreach (var t in graph.Initializer) result._types[t.Name] = (DataType)t.DataType;
        foreach (var node in graph.Node)
        {
            if (GraphIndex.Subgraphs(node).Any())
                throw new NotSupportedException(
                    $"Node '{node.Name}' ({node.OpType}) holds a subgraph; graphs with control flow (If/Loop/Scan) are not supported here.");
            for (int i = 0; i < node.Output.Count; i++)
            {
                var name = node.Output[i];
                if (name.Length == 0) continue;
                var type = result.OutputType(node, i);
                if (type == DataType.Undefined) type = declared.GetValueOrDefault(name);
                result._types[name] = type;
            }
        }
        return result;
    }

    private DataType Input(NodeProto node, int index) => index < node.Input.Count ? this[node.Input[index]] : DataType.Undefined;

    private DataType FirstKnownInput(NodeProto node)
    {
        foreach (var input in node.Input)
            if (this[input] is var t && t != DataType.Undefined) return t;
        return DataType.Undefined;
    }

    private static DataType DtypeAttribute(NodeProto node, DataType fallback) =>
        OnnxNodes.Attribute(node, "dtype") is { } a ? (DataType)a.I : fallback;

    // ONNX's type constraints where an output's type is not that of the first input (default and com.microsoft domains).
    private DataType OutputType(NodeProto node, int output)
    {
        switch (node.OpType)
        {
            case "Cast": return (DataType)OnnxNodes.IntAttribute(node, "to", 0);
            case "CastLike": return Input(node, 1);
            case "Shape" or "Size" or "NonZero" or "ArgMax" or "ArgMin" or "NonMaxSuppression": return DataType.Int64;
            case "Equal" or "Less" or "Greater" or "LessOrEqual" or "GreaterOrEqual" or "Not" or "And" or "Or" or "Xor"
                or "IsNaN" or "IsInf":
                return DataType.Bool;
            case "Constant": return ConstantType(node);
            case "ConstantOfShape":
                return OnnxNodes.Attribute(node, "value")?.T is { } value ? (DataType)value.DataType : DataType.Float;
            case "RandomNormal" or "RandomUniform": return DtypeAttribute(node, DataType.Float);
            case "RandomNormalLike" or "RandomUniformLike" or "EyeLike" or "Bernoulli": return DtypeAttribute(node, Input(node, 0));
            case "Multinomial": return DtypeAttribute(node, DataType.Int32);
            case "Where": return Input(node, 1);
            case "OneHot": return Input(node, 2);
            case "TopK" or "Unique" when output > 0: return DataType.Int64;
            case "MaxPool" when output == 1: return DataType.Int64;
            case "Dropout" when output == 1: return DataType.Bool;
            case "LayerNormalization" when output > 0:
                return (DataType)OnnxNodes.IntAttribute(node, "stash_type", (long)DataType.Float);
            case "DequantizeLinear": return node.Input.Count > 1 ? Input(node, 1) : DataType.Float;
            case "QuantizeLinear": return node.Input.Count > 2 ? Input(node, 2) : DataType.Uint8;
            default: return FirstKnownInput(node);
        }
    }

    private static DataType ConstantType(NodeProto node)
    {
        foreach (var a in node.Attribute)
            switch (a.Name)
            {
                case "value" when a.T is not null: return (DataType)a.T.DataType;
                case "value_float" or "value_floats": return DataType.Float;
                case "value_int" or "value_ints": return DataType.Int64;
                case "value_string" or "value_strings": return DataType.String;
            }
        return DataType.Undefined;
    }
}
