namespace StableDiffusion.Lora;

/// <summary>How an ONNX initializer stores a torch weight.</summary>
public enum WeightLayout
{
    /// <summary>The MatMul B operand the torch exporter makes of a Linear weight: W^T, [in, out].</summary>
    TransposedLinear,

    /// <summary>As torch: a Gemm with transB = 1 ([out, in]) or a Conv ([out, in, kh, kw]).</summary>
    Torch,
}
