using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Lora;

/// <summary>The ONNX initializer a module's weight lives in, found through the node that consumes it.</summary>
public sealed record LoraTarget(string ModulePath, string InitializerName, WeightLayout Layout, long[] Dims,
    TensorProto.Types.DataType ElementType, IReadOnlyList<string> ConsumerNodes)
{
    /// <summary>The weight's shape in torch layout ([out, in] or [out, in, kh, kw]).</summary>
    public long[] TorchShape => Layout == WeightLayout.TransposedLinear ? [Dims[1], Dims[0]] : Dims;
}
