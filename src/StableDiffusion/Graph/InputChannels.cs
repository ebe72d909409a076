using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>
/// The channel count a graph input feeds into its first convolution (the weight's input channels × group), for exports
/// whose input shape leaves the channel axis symbolic and that come without a config: an inpainting UNet exported with
/// diffusers' old script says <c>[batch, channels, height, width]</c> where the weights say 9.
/// </summary>
public static class InputChannels
{
    /// <summary>The channels, or null when the input does not reach a Conv with a known weight shape.</summary>
    public static int? OfFirstConv(OnnxGraphFile model, string input)
    {
        var value = input;
        for (int hops = 0; hops < 8; hops++)
        {
            var consumers = model.Consumers(value);
            var conv = consumers.FirstOrDefault(n => n.OpType == "Conv" && n.Input.Count > 1 && n.Input[0] == value);
            if (conv is not null)
            {
                if (model.Initializer(conv.Input[1]) is not { Dims.Count: 4 } weight) return null;
                long group = conv.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1;
                return (int)(weight.Dims[1] * Math.Max(group, 1));
            }
            // Look through the casts a float16 conversion adds and exporter identities.
            var pass = consumers.FirstOrDefault(n => n.OpType is "Cast" or "Identity");
            if (pass is null || pass.Output.Count == 0) return null;
            value = pass.Output[0];
        }
        return null;
    }
}
