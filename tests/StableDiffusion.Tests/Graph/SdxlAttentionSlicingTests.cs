using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Graph;

/// <summary>
/// Attention slicing on the SDXL fixture UNets (use_linear_projection, transformer_layers_per_block > 1, torch 1.13
/// TorchScript export with diffusers' AttnProcessor): every self- and cross-attention is found, and a sliced pipeline
/// still matches diffusers 0.35.2 with the parity suite's tolerances.
/// </summary>
public sealed class SdxlAttentionSlicingTests
{
    private static string UNetPath(string model) => Path.Combine(Fixtures.Root, model, "unet", "model.onnx");

    /// <summary>
    /// The attention modules the README's config implies: the only cross-attention down block is down_blocks.1 (2 resnets,
    /// transformer_layers_per_block 2), mid block 2 transformer layers, up_blocks.0 mirrors down_blocks.1 with 3 layers;
    /// the refiner has 1 transformer layer everywhere. Each transformer layer has attn1 (self) and attn2 (cross).
    /// </summary>
    [Theory]
    [InlineData("tiny-sdxl", 2 * 2 + 2 + 3 * 2)]
    [InlineData("tiny-sdxl-refiner", 2 * 1 + 1 + 3 * 1)]
    public void EverySelfAndCrossAttentionIsFoundWithFourHeads(string model, int transformerLayers)
    {
        var unet = OnnxGraphFile.Load(UNetPath(model), loadExternalData: false);
        // Independent counts from the graph: one to_q projection and one Softmax per attention module.
        int queries = unet.Nodes.Count(n => n.OpType == "MatMul" && n.Name.EndsWith("/to_q/MatMul", StringComparison.Ordinal));
        Assert.Equal(2 * transformerLayers, queries);
        Assert.Equal(2 * transformerLayers, unet.Nodes.Count(n => n.OpType == "Softmax"));

        var scan = AttentionFinder.Scan(unet);
        Assert.Empty(scan.FusedAttention);
        Assert.Empty(scan.Skipped);
        Assert.Equal(queries, scan.Blocks.Count);
        Assert.Equal(transformerLayers, scan.Blocks.Count(b => b.Name.EndsWith("/attn1", StringComparison.Ordinal)));
        Assert.Equal(transformerLayers, scan.Blocks.Count(b => b.Name.EndsWith("/attn2", StringComparison.Ordinal)));
        // attention_head_dim (2, 4) is the head count per block; only the second block (4 heads) has attention.
        Assert.All(scan.Blocks, b => Assert.Equal(4, b.Heads));
        Assert.All(scan.Blocks, b => Assert.Equal(AttentionLayout.Merged3D, b.Layout));
    }

    [Fact]
    public void SlicedBaseMatchesDiffusers()
    {
        using var pipeline = Load("tiny-sdxl");
        var result = pipeline.EnableAttentionSlicing(AttentionSliceSize.Max);
        Assert.True(result.Changed, result.Describe());
        Assert.Equal(AttentionSlicingOutcome.Sliced, result.Outcome);
        Assert.Equal(24, result.Sliced.Count);
        Assert.All(result.Sliced, s => Assert.Equal((4, 1, 4), (s.Heads, s.HeadsPerSlice, s.Slices)));
        SdxlParityTests.Check(pipeline, SdxlParityTests.Stage.Of("tiny-sdxl", "euler20_default"));
    }

    [Fact]
    public void SlicedRefinerMatchesDiffusers()
    {
        using var pipeline = Load("tiny-sdxl-refiner");
        var result = pipeline.EnableAttentionSlicing(AttentionSliceSize.Auto);
        Assert.Equal(AttentionSlicingOutcome.Sliced, result.Outcome);
        Assert.Equal(12, result.Sliced.Count);
        Assert.All(result.Sliced, s => Assert.Equal((4, 2, 2), (s.Heads, s.HeadsPerSlice, s.Slices)));
        SdxlParityTests.Check(pipeline, SdxlParityTests.Stage.Of("tiny-sdxl-refiner", "refiner_img2img"));
    }

    private static StableDiffusionPipeline Load(string model) =>
        StableDiffusionPipeline.Load(Path.Combine(Fixtures.Root, model), new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
}
