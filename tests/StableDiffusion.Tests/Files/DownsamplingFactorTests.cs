using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;
using Google.Protobuf;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Files;

/// <summary>The UNet's downsampling factor comes from its graph: the fixture's one downsampler, SD's three.</summary>
public sealed class DownsamplingFactorTests
{
    [Fact]
    public void TheFixtureUNetHalvesOnce()
    {
        // tiny-sd (diffusers' tiny test UNet): block_out_channels (32, 64), one Downsample2D, so latents must be even.
        var unet = OnnxGraphFile.Load(Path.Combine(Fixtures.TinySd, "unet", "model.onnx"), loadExternalData: false);
        Assert.Equal(2, DownsamplingFactor.Of(unet));
    }

    [Theory]
    [InlineData(3, 8)] // SD 1.x/2.x: four down blocks, three with a downsampler → 64-pixel steps
    [InlineData(2, 4)] // SDXL: three down blocks, two with a downsampler → 32-pixel steps
    [InlineData(0, 1)]
    public void StrideTwoConvsMultiply(int downsamplers, int expected)
    {
        var graph = new GraphProto();
        // A stride-1 conv (conv_in, resnets) does not count; each stride-2 one halves.
        graph.Node.Add(Conv(1));
        for (int i = 0; i < downsamplers; i++) graph.Node.Add(Conv(2));
        graph.Node.Add(new NodeProto { OpType = "Resize" });
        Assert.Equal(expected, DownsamplingFactor.Of(OnnxGraphFile.Parse(new ModelProto { Graph = graph }.ToByteArray())));
    }

    private static NodeProto Conv(long stride)
    {
        var node = new NodeProto { OpType = "Conv" };
        var strides = new AttributeProto { Name = "strides", Type = AttributeProto.Types.AttributeType.Ints };
        strides.Ints.Add(stride);
        strides.Ints.Add(stride);
        node.Attribute.Add(strides);
        return node;
    }
}
