using System.Runtime.InteropServices;
using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.TextualInversion;

/// <summary>
/// The text encoder's token-embedding table: the [vocab, dim] initializer that the Gather on <c>input_ids</c> reads
/// (CLIP's <c>embeddings.token_embedding.weight</c>), and copies of the graph with rows appended to it.
/// </summary>
public sealed class TokenEmbeddingTable
{
    // Ops that carry input_ids to the Gather unchanged in value (exports cast or reshape them first).
    private static readonly HashSet<string> PassThrough = ["Cast", "Reshape", "Flatten", "Unsqueeze", "Squeeze", "Identity"];

    private TokenEmbeddingTable(TensorProto initializer, long rows, long dimension)
    {
        Initializer = initializer;
        Rows = rows;
        Dimension = dimension;
    }

    /// <summary>The initializer in the graph it was found in.</summary>
    public TensorProto Initializer { get; }

    public string Name => Initializer.Name;

    /// <summary>Vocabulary rows (49408 in CLIP).</summary>
    public long Rows { get; }

    /// <summary>Width of a token embedding (768 in SD 1.x, 32 in the tiny fixture).</summary>
    public long Dimension { get; }

    /// <summary>The table of <paramref name="graph"/>, or null when no Gather on <c>input_ids</c> reads a float [vocab, dim] initializer.</summary>
    public static TokenEmbeddingTable? Find(OnnxGraphFile graph, string idsInput = "input_ids")
    {
        ArgumentNullException.ThrowIfNull(graph);
        var pending = new Queue<string>([idsInput]);
        var visited = new HashSet<string>(StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            string value = pending.Dequeue();
            if (!visited.Add(value)) continue;
            foreach (var node in graph.Consumers(value))
            {
                if (node.OpType == "Gather" && node.Input.Count == 2 && node.Input[1] == value
                    && graph.Initializer(node.Input[0]) is { Dims.Count: 2 } table
                    && table.DataType is (int)TensorProto.Types.DataType.Float or (int)TensorProto.Types.DataType.Float16)
                    return new TokenEmbeddingTable(table, table.Dims[0], table.Dims[1]);
                if (PassThrough.Contains(node.OpType) && node.Input.Count > 0 && node.Input[0] == value)
                    foreach (var output in node.Output) pending.Enqueue(output);
            }
        }
        return null;
    }

    /// <summary>
    /// A copy of <paramref name="graph"/> (the graph this table was found in) whose table has <paramref name="rows"/>
    /// ([n, Dimension], float32) appended, in the table's element type: transformers' <c>resize_token_embeddings</c> with
    /// the new rows set. The other initializers are shared references (external data stays on disk).
    /// </summary>
    public OnnxGraphFile Extend(OnnxGraphFile graph, ReadOnlySpan<float> rows)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (rows.Length % Dimension != 0) throw new ArgumentException($"The rows must be a multiple of {Dimension} values.", nameof(rows));
        long added = rows.Length / Dimension;
        var copy = graph.Clone();
        var old = copy.Initializer(Name) ?? throw new InvalidOperationException($"The graph has no initializer '{Name}'.");
        var type = (TensorProto.Types.DataType)old.DataType;
        byte[] existing = copy.GetTensorBytes(old).ToArray();
        byte[] extra = type == TensorProto.Types.DataType.Float
            ? MemoryMarshal.AsBytes(rows).ToArray()
            : MemoryMarshal.AsBytes(Array.ConvertAll(rows.ToArray(), v => (Half)v).AsSpan()).ToArray();
        var replaced = TensorData.Create(Name, type, [.. existing, .. extra], Rows + added, Dimension);
        var initializers = copy.Graph.Initializer;
        initializers[initializers.IndexOf(old)] = replaced;
        // A declared shape for the table (value_info, or an old-IR graph input) would contradict the new row count.
        foreach (var info in copy.Graph.ValueInfo.Where(v => v.Name == Name).ToArray()) copy.Graph.ValueInfo.Remove(info);
        foreach (var input in copy.Graph.Input.Where(v => v.Name == Name).ToArray()) copy.Graph.Input.Remove(input);
        copy.InvalidateIndex();
        return copy;
    }
}
