using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Tests.Graph;

/// <summary>How a synthetic attention scales its scores.</summary>
public enum Scaling { MulAfter, DivAfter, MulBefore }

/// <summary>
/// Small self-attention graphs built with the protobuf classes, in the shapes different exporters write:
/// y = attention(x·Wq, x·Wk, x·Wv) for x [batch, tokens, heads·dim], merged 3-D ([batch·heads, N, d], diffusers'
/// head_to_batch_dim) or 4-D ([batch, heads, N, d], SDPA exports), scaled after (Mul or Div) or before the MatMul.
/// </summary>
public static class SyntheticAttention
{
    public const int Dim = 4;

    public static OnnxGraphFile Build(AttentionLayout layout, Scaling scaling, int heads, string? mask = null, bool fused = false, long opset = 14)
    {
        int channels = heads * Dim;
        var g = new GraphProto { Name = "attention" };
        g.Input.Add(OnnxNodes.TensorValue("x", TensorProto.Types.DataType.Float, "batch", "tokens", channels));
        g.Output.Add(OnnxNodes.TensorValue("y", TensorProto.Types.DataType.Float, "batch", "tokens", channels));
        var rng = new System.Random(heads * 31 + (int)layout * 7 + (int)scaling);
        foreach (var w in new[] { "wq", "wk", "wv" })
        {
            var values = new float[channels * channels];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() - 0.5);
            g.Initializer.Add(TensorData.FromFloats(w, values, channels, channels));
        }
        g.Initializer.Add(TensorData.FromInt64s("split_shape", [0, 0, heads, Dim], 4));
        g.Initializer.Add(TensorData.FromInt64s("merge_shape", [0, 0, channels], 3));
        g.Initializer.Add(TensorData.FromInt64s("minus_one", [-1], 1));
        g.Initializer.Add(TensorData.FromInt64s("minus_one_heads", [-1, heads], 2));
        g.Initializer.Add(TensorData.FromInt64s("dim", [Dim], 1));
        g.Initializer.Add(TensorData.FromInt64s("one", [1], 1));
        g.Initializer.Add(TensorData.FromFloats("scale", [1f / MathF.Sqrt(Dim)]));
        g.Initializer.Add(TensorData.FromFloats("sqrt_dim", [MathF.Sqrt(Dim)]));
        g.Initializer.Add(TensorData.FromFloats("sqrt_scale", [MathF.Pow(Dim, -0.25f)]));
        void Node(string op, string[] inputs, string output, params AttributeProto[] attributes) =>
            g.Node.Add(OnnxNodes.Node(op, inputs, [output], output + "_node", "", attributes));

        if (fused)
        {
            Node("MatMul", ["x", "wq"], "q");
            Node("MatMul", ["x", "wk"], "k");
            Node("MatMul", ["x", "wv"], "v");
            g.Node.Add(OnnxNodes.Node("MultiHeadAttention", ["q", "k", "v"], ["y"], "mha", "com.microsoft", OnnxNodes.Int("num_heads", heads)));
            return Wrap(g, opset, fused: true);
        }

        foreach (var p in new[] { "q", "k", "v" })
        {
            Node("MatMul", ["x", "w" + p], p);
            Node("Reshape", [p, "split_shape"], p + "_split");
            // Keys go straight to [batch, heads, d, N] in 4-D SDPA exports; everything else to [batch, heads, N, d].
            bool keyTransposedHere = p == "k" && layout == AttentionLayout.Split4D;
            Node("Transpose", [p + "_split"], p + "_heads", OnnxNodes.Ints("perm", keyTransposedHere ? [0, 2, 3, 1] : [0, 2, 1, 3]));
            if (layout == AttentionLayout.Merged3D)
            {
                // [batch·heads, N, d] with the shape built as exporters do: Concat([-1], Unsqueeze(Gather(Shape)), [d]).
                Node("Shape", [p], p + "_shape");
                Node("Gather", [p + "_shape", "one_scalar"], p + "_tokens", OnnxNodes.Int("axis", 0));
                Node("Unsqueeze", [p + "_tokens", "zero_axis"], p + "_tokens1");
                Node("Concat", ["minus_one", p + "_tokens1", "dim"], p + "_merged_shape", OnnxNodes.Int("axis", 0));
                Node("Reshape", [p + "_heads", p + "_merged_shape"], p + "_3d");
            }
        }
        g.Initializer.Add(TensorData.Create("one_scalar", TensorProto.Types.DataType.Int64, BitConverter.GetBytes(1L)));
        g.Initializer.Add(TensorData.FromInt64s("zero_axis", [0], 1));

        string q = layout == AttentionLayout.Merged3D ? "q_3d" : "q_heads";
        string v = layout == AttentionLayout.Merged3D ? "v_3d" : "v_heads";
        string kt;
        if (layout == AttentionLayout.Merged3D)
        {
            Node("Transpose", ["k_3d"], "kt", OnnxNodes.Ints("perm", 0, 2, 1));
            kt = "kt";
        }
        else kt = "k_heads";

        string scores;
        switch (scaling)
        {
            case Scaling.MulBefore:
                Node("Mul", [q, "sqrt_scale"], "q_scaled");
                Node("Mul", [kt, "sqrt_scale"], "kt_scaled");
                Node("MatMul", ["q_scaled", "kt_scaled"], "scores");
                scores = "scores";
                break;
            case Scaling.DivAfter:
                Node("MatMul", [q, kt], "raw_scores");
                Node("Div", ["raw_scores", "sqrt_dim"], "scores");
                scores = "scores";
                break;
            default:
                Node("MatMul", [q, kt], "raw_scores");
                Node("Mul", ["scale", "raw_scores"], "scores");
                scores = "scores";
                break;
        }
        if (mask is not null)
        {
            g.Input.Add(OnnxNodes.TensorValue(mask, TensorProto.Types.DataType.Float, null, null, null));
            Node("Add", [scores, mask], "masked");
            scores = "masked";
        }
        Node("Softmax", [scores], "probs", OnnxNodes.Int("axis", -1));
        Node("MatMul", ["probs", v], "context");
        string heads4 = "context";
        if (layout == AttentionLayout.Merged3D)
        {
            Node("Shape", ["context"], "context_shape");
            Node("Gather", ["context_shape", "one_scalar"], "context_tokens", OnnxNodes.Int("axis", 0));
            Node("Unsqueeze", ["context_tokens", "zero_axis"], "context_tokens1");
            Node("Concat", ["minus_one_heads", "context_tokens1", "dim"], "context_split_shape", OnnxNodes.Int("axis", 0));
            Node("Reshape", ["context", "context_split_shape"], "context_4d");
            heads4 = "context_4d";
        }
        Node("Transpose", [heads4], "context_tokens_first", OnnxNodes.Ints("perm", 0, 2, 1, 3));
        Node("Reshape", ["context_tokens_first", "merge_shape"], "y");
        return Wrap(g, opset, fused: false);
    }

    private static OnnxGraphFile Wrap(GraphProto graph, long opset, bool fused)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "StableDiffusion.Tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        if (fused) model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        return OnnxGraphFile.FromModel(model);
    }
}
