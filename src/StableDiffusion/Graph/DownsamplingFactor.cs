using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>
/// How many times a UNet halves its latents on the way down: the product of the strides of its downsampling nodes
/// (diffusers' Downsample2D is a stride-2 Conv, or a stride-2 AveragePool without a conv). The way up doubles back and
/// concatenates each level with its skip connection, so the latent height and width must divide by this factor, or a
/// Concat fails deep inside the graph — which ONNX Runtime reports like a broken model.
/// </summary>
public static class DownsamplingFactor
{
    private static readonly HashSet<string> Downsamplers = new(StringComparer.Ordinal) { "Conv", "AveragePool", "MaxPool" };

    /// <summary>The factor (1 when nothing downsamples). Reads the node attributes only, not the weights.</summary>
    public static int Of(OnnxGraphFile model)
    {
        long factor = 1;
        foreach (var node in model.Nodes)
        {
            if (!Downsamplers.Contains(node.OpType)) continue;
            var strides = node.Attribute.FirstOrDefault(a => a.Name == "strides");
            if (strides is null || strides.Ints.Count == 0) continue;
            long stride = strides.Ints.Max();
            if (stride > 1) factor *= stride;
            if (factor > 1 << 16) break; // not a UNet any real model has; the caller's size check stays meaningful
        }
        return (int)Math.Min(factor, 1 << 16);
    }
}
