namespace StableDiffusion.Models;

/// <summary>How cuDNN picks a convolution algorithm (ONNX Runtime's <c>cudnn_conv_algo_search</c>).</summary>
public enum CudnnConvAlgoSearch
{
    /// <summary>Benchmark every algorithm on the first run of each shape: slowest start, fastest steps (static shapes).</summary>
    Exhaustive,
    /// <summary>cuDNN's heuristics: quick start, sometimes slower steps.</summary>
    Heuristic,
    /// <summary>The default algorithm (IMPLICIT_PRECOMP_GEMM): no search at all.</summary>
    Default,
}
