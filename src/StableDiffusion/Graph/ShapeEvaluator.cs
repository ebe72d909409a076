using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>
/// Folds the small integer vectors that exporters build shapes from (Shape → Gather → Unsqueeze → Concat …) as far as
/// constants allow: the result has one entry per element, null where the element depends on a runtime size. Used to
/// read e.g. the head count out of <c>Reshape(x, [batch, seq, heads, dim])</c> when batch and seq are dynamic.
/// </summary>
public sealed class ShapeEvaluator
{
    private readonly GraphIndex _index;
    private readonly string? _baseDirectory;
    private readonly Dictionary<string, long?[]?> _cache = new(StringComparer.Ordinal);

    public ShapeEvaluator(GraphIndex index, string? baseDirectory = null)
    {
        _index = index;
        _baseDirectory = baseDirectory;
    }

    /// <summary>The elements of the 0-D or 1-D integer value <paramref name="name"/> (null entries unknown), or null when even its length is unknown.</summary>
    public long?[]? Evaluate(string name) => Evaluate(name, 0);

    private long?[]? Evaluate(string name, int depth)
    {
        if (_cache.TryGetValue(name, out var cached)) return cached;
        var result = depth > 64 ? null : Compute(name, depth);
        _cache[name] = result;
        return result;
    }

    private long?[]? Compute(string name, int depth)
    {
        if (_index.ConstantValue(name) is { } constant)
            return ToLongs(constant);
        var node = _index.Producer(name);
        if (node is null || !GraphIndex.IsDefaultDomain(node.Domain)) return null;
        switch (node.OpType)
        {
            case "Identity":
            case "Cast":
                return Evaluate(node.Input[0], depth + 1);
            case "Unsqueeze":
            case "Squeeze":
                // Only 0-D ↔ 1-element 1-D changes occur in shape arithmetic; the element list is the same.
                var inner = Evaluate(node.Input[0], depth + 1);
                return inner is { Length: 1 } ? inner : null;
            case "Concat":
                if (OnnxNodes.IntAttribute(node, "axis", 0) is not (0 or -1)) return null;
                var parts = new List<long?>();
                foreach (var input in node.Input)
                {
                    var part = Evaluate(input, depth + 1);
                    if (part is null) return null;
                    parts.AddRange(part);
                }
                return [.. parts];
            case "Gather":
                if (OnnxNodes.IntAttribute(node, "axis", 0) != 0) return null;
                var indices = _index.ConstantValue(node.Input[1]) is { } ic ? ToLongs(ic) : null;
                if (indices is not { Length: 1 } || indices[0] is not { } index) return null;
                var data = Evaluate(node.Input[0], depth + 1);
                if (data is null) return [null]; // e.g. Gather(Shape(x), i): one unknown element
                if (index < 0) index += data.Length;
                return index >= 0 && index < data.Length ? [data[index]] : null;
            case "Mul":
            case "Div":
            case "Add":
            case "Sub":
                var a = Evaluate(node.Input[0], depth + 1);
                var b = Evaluate(node.Input[1], depth + 1);
                if (a is null || b is null) return null;
                if (a.Length != b.Length && a.Length != 1 && b.Length != 1) return null;
                int n = Math.Max(a.Length, b.Length);
                var r = new long?[n];
                for (int i = 0; i < n; i++)
                {
                    var x = a[a.Length == 1 ? 0 : i];
                    var y = b[b.Length == 1 ? 0 : i];
                    r[i] = x is null || y is null ? null : node.OpType switch
                    {
                        "Mul" => x * y,
                        "Add" => x + y,
                        "Sub" => x - y,
                        _ => y == 0 ? null : FloorDiv(x.Value, y.Value),
                    };
                }
                return r;
            default:
                return null;
        }
    }

    // ONNX integer Div truncates toward zero.
    private static long FloorDiv(long x, long y) => x / y;

    private long?[]? ToLongs(TensorProto tensor)
    {
        if (tensor.Dims.Count > 1 || TensorData.ElementCount(tensor) > 64) return null;
        var type = (TensorProto.Types.DataType)tensor.DataType;
        if (type is not (TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Int32)) return null;
        var bytes = TensorData.GetBytes(tensor, _baseDirectory).Span;
        var result = new long?[TensorData.ElementCount(tensor)];
        for (int i = 0; i < result.Length; i++)
            result[i] = type == TensorProto.Types.DataType.Int64
                ? BitConverter.ToInt64(bytes[(i * 8)..])
                : BitConverter.ToInt32(bytes[(i * 4)..]);
        return result;
    }
}
