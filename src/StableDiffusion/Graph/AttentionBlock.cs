using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>How an exporter laid out the attention operands.</summary>
public enum AttentionLayout
{
    /// <summary>[batch·heads, tokens, dim] (diffusers' head_to_batch_dim, e.g. the v0.12 export).</summary>
    Merged3D,

    /// <summary>[batch, heads, tokens, dim] (scaled_dot_product_attention exports, Optimum).</summary>
    Split4D,
}

/// <summary>
/// One elementwise node between the score MatMul and the value MatMul (scaling, the baddbmm zero term, casts).
/// <paramref name="DataInput"/> is the operand carrying the scores; the others are per-slice invariant: scalars, or
/// uniform tensors (<c>ConstantOfShape</c> and a scalar) that <paramref name="UniformOperands"/> replaces by scalars.
/// </summary>
public sealed record AttentionChainOp(NodeProto Node, int DataInput, IReadOnlyDictionary<int, TensorProto> UniformOperands);

/// <summary>
/// A recognised unfused attention: Q·Kᵀ (<see cref="ScoreMatMul"/>) → <see cref="ScoreChain"/> → Softmax →
/// <see cref="ProbabilityChain"/> → ·V (<see cref="ValueMatMul"/>), with <see cref="Heads"/> heads.
/// </summary>
public sealed record AttentionBlock(
    string Name,
    NodeProto ScoreMatMul,
    IReadOnlyList<AttentionChainOp> ScoreChain,
    NodeProto Softmax,
    IReadOnlyList<AttentionChainOp> ProbabilityChain,
    NodeProto ValueMatMul,
    int Heads,
    AttentionLayout Layout)
{
    public string Query => ScoreMatMul.Input[0];
    public string KeyTransposed => ScoreMatMul.Input[1];
    public string Value => ValueMatMul.Input[1];
    public string Output => ValueMatMul.Output[0];

    /// <summary>Rank of the MatMul operands.</summary>
    public int Rank => Layout == AttentionLayout.Merged3D ? 3 : 4;
}

/// <summary>A softmax that looked like attention but was not rewritten, and why.</summary>
public sealed record SkippedAttention(string Name, string Reason);
