using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Tests.Models;

/// <summary>What a synthetic VAE encoder does after its quant_conv.</summary>
public enum SyntheticSampling
{
    /// <summary>Outputs a 4-channel latent and draws nothing (a mode()/mean export).</summary>
    None,

    /// <summary>Samples inside like a torch 2 export: Split on channels, Div by 2, operands in the other order than the fixture's.</summary>
    Split,

    /// <summary>Samples inside with two constant Slices (mean [0, 4), logvar [4, end)), Mul by 0.5 first, and a fixed-shape RandomNormal.</summary>
    ConstantSlices,

    /// <summary>As <see cref="ConstantSlices"/> with the halves swapped (mean from channels 4-7): not diffusers' distribution.</summary>
    SwappedHalves,

    /// <summary>As <see cref="Split"/>, with unseeded noise added to the image before quant_conv (the parameters are random too).</summary>
    NoisyParameters,

    /// <summary>Adds unseeded noise to a 4-channel latent, with no distribution to recover.</summary>
    Unrecognized,
}

/// <summary>
/// VAE-encoder-shaped graphs built with the protobuf classes: a 1×1 Conv ("quant_conv", 3 → 8 or 4 channels) on the
/// image, then the sampling variant. Small enough to run in ONNX Runtime and check against <see cref="Conv"/>.
/// </summary>
public static class SyntheticVaeEncoder
{
    public const int LatentChannels = 4;

    public static OnnxGraphFile Build(SyntheticSampling sampling)
    {
        const TensorProto.Types.DataType f32 = TensorProto.Types.DataType.Float;
        int channels = sampling is SyntheticSampling.Unrecognized or SyntheticSampling.None ? LatentChannels : 2 * LatentChannels;
        var g = new GraphProto { Name = "vae_encoder" };
        g.Input.Add(OnnxNodes.TensorValue("sample", f32, "batch", 3, "height", "width"));
        g.Output.Add(OnnxNodes.TensorValue("latent_sample", f32, "batch", LatentChannels, "height_latent", "width_latent"));
        g.Initializer.Add(TensorData.FromFloats("quant_conv.weight", Weights(channels), channels, 3, 1, 1));
        void Node(string op, string[] inputs, string output, params AttributeProto[] attributes) =>
            g.Node.Add(OnnxNodes.Node(op, inputs, [output], output + "_node", "", attributes));

        switch (sampling)
        {
            case SyntheticSampling.None:
                Node("Conv", ["sample", "quant_conv.weight"], "latent_sample");
                break;
            case SyntheticSampling.Split:
            case SyntheticSampling.NoisyParameters:
                if (sampling == SyntheticSampling.NoisyParameters)
                {
                    Node("RandomUniformLike", ["sample"], "dither");
                    Node("Add", ["sample", "dither"], "dithered");
                }
                Node("Conv", [sampling == SyntheticSampling.NoisyParameters ? "dithered" : "sample", "quant_conv.weight"], "parameters");
                g.Initializer.Add(TensorData.FromInt64s("halves", [LatentChannels, LatentChannels], 2));
                g.Initializer.Add(TensorData.FromFloats("min", [-30f]));
                g.Initializer.Add(TensorData.FromFloats("max", [20f]));
                g.Initializer.Add(TensorData.FromFloats("two", [2f]));
                g.Node.Add(OnnxNodes.Node("Split", ["parameters", "halves"], ["mean", "logvar"], "split", "", OnnxNodes.Int("axis", 1)));
                Node("Clip", ["logvar", "min", "max"], "clipped");
                Node("Div", ["clipped", "two"], "half_logvar");
                Node("Exp", ["half_logvar"], "std");
                Node("RandomNormalLike", ["mean"], "eps", OnnxNodes.Int("dtype", 1));
                Node("Identity", ["eps"], "eps_copy");
                Node("Mul", ["eps_copy", "std"], "scaled");
                Node("Add", ["scaled", "mean"], "latent_sample");
                break;
            case SyntheticSampling.ConstantSlices:
            case SyntheticSampling.SwappedHalves:
                bool swapped = sampling == SyntheticSampling.SwappedHalves;
                Node("Conv", ["sample", "quant_conv.weight"], "parameters");
                g.Initializer.Add(TensorData.FromInt64s("zero", [0], 1));
                g.Initializer.Add(TensorData.FromInt64s("half_channels", [LatentChannels], 1));
                g.Initializer.Add(TensorData.FromInt64s("logvar_start", [LatentChannels], 1)); // equal constants, not one value
                g.Initializer.Add(TensorData.FromInt64s("end", [long.MaxValue], 1));
                g.Initializer.Add(TensorData.FromInt64s("channel_axis", [1], 1));
                g.Initializer.Add(TensorData.FromFloats("min", [-30f]));
                g.Initializer.Add(TensorData.FromFloats("max", [20f]));
                g.Initializer.Add(TensorData.FromFloats("half", [0.5f]));
                Node("Slice", ["parameters", "zero", "half_channels", "channel_axis"], swapped ? "logvar" : "mean");
                Node("Slice", ["parameters", "logvar_start", "end", "channel_axis"], swapped ? "mean" : "logvar");
                Node("Clip", ["logvar", "min", "max"], "clipped");
                Node("Mul", ["half", "clipped"], "half_logvar");
                Node("Exp", ["half_logvar"], "std");
                Node("RandomNormal", [], "eps", OnnxNodes.Int("dtype", 1), OnnxNodes.Ints("shape", 2, LatentChannels, 3, 5));
                Node("Cast", ["eps"], "eps_float", OnnxNodes.Int("to", 1));
                Node("Mul", ["std", "eps_float"], "scaled");
                Node("Add", ["mean", "scaled"], "latent_sample");
                break;
            default:
                Node("Conv", ["sample", "quant_conv.weight"], "mean");
                Node("RandomNormalLike", ["mean"], "eps", OnnxNodes.Int("dtype", 1));
                Node("Add", ["mean", "eps"], "latent_sample");
                break;
        }
        var model = new ModelProto { IrVersion = 8, ProducerName = "StableDiffusion.Tests", Graph = g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 14 });
        return OnnxGraphFile.FromModel(model);
    }

    /// <summary>The quant_conv output computed on the host: out[b, o, p] = Σc W[o, c]·x[b, c, p].</summary>
    public static float[] Conv(float[] image, int batch, int pixels, int channels)
    {
        var w = Weights(channels);
        var result = new float[batch * channels * pixels];
        for (int b = 0; b < batch; b++)
            for (int o = 0; o < channels; o++)
                for (int p = 0; p < pixels; p++)
                {
                    float sum = 0;
                    for (int c = 0; c < 3; c++) sum += w[o * 3 + c] * image[(b * 3 + c) * pixels + p];
                    result[(b * channels + o) * pixels + p] = sum;
                }
        return result;
    }

    private static float[] Weights(int channels) => Enumerable.Range(0, channels * 3).Select(i => (i % 7 - 3) * 0.25f).ToArray();
}
