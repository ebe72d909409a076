using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Graph;

/// <summary>
/// Attention slicing on the fixture UNet and on small attention graphs in the layouts other exporters write. Outputs of a
/// sliced graph must equal the original's within atol 1e-5 (the fp32 tolerance; the rewrite is exact by
/// construction, so this only leaves room for a kernel that blocks differently on a smaller batch).
/// </summary>
public sealed class AttentionSlicerTests
{
    private const double Atol = 1e-5;
    private static string UNetPath => Path.Combine(Fixtures.TinySd, "unet", "model.onnx");

    /// <summary>The fixture's attention modules counted from the graph itself: one query projection (…/to_q/MatMul) each.</summary>
    private static int FixtureAttentionModules(OnnxGraphFile unet) =>
        unet.Nodes.Count(n => n.OpType == "MatMul" && n.Name.EndsWith("/to_q/MatMul", StringComparison.Ordinal));

    [Fact]
    public void FixtureUNet_EveryAttentionIsFoundWithItsEightHeads()
    {
        var unet = OnnxGraphFile.Load(UNetPath, loadExternalData: false);
        int modules = FixtureAttentionModules(unet);
        Assert.True(modules > 0, "the fixture UNet should have attention modules");
        var scan = AttentionFinder.Scan(unet);
        Assert.Empty(scan.FusedAttention);
        Assert.Empty(scan.Skipped);
        Assert.Equal(modules, scan.Blocks.Count);
        // README: attention_head_dim 8 (= 8 heads in diffusers 0.12); the v0.12 export uses head_to_batch_dim (3-D).
        Assert.All(scan.Blocks, b => Assert.Equal(8, b.Heads));
        Assert.All(scan.Blocks, b => Assert.Equal(AttentionLayout.Merged3D, b.Layout));
    }

    [Theory]
    [InlineData("Auto", 4, 2)]
    [InlineData("Max", 1, 8)]
    [InlineData("3", 3, 3)]
    public void FixtureUNet_SlicedGraphLoadsAndGivesTheSameOutputs(string size, int perSlice, int slices)
    {
        var original = OnnxGraphFile.Load(UNetPath, loadExternalData: false);
        var result = AttentionSlicer.Slice(original, AttentionSliceSize.Parse(size));

        Assert.Equal(AttentionSlicingOutcome.Sliced, result.Outcome);
        Assert.Equal(FixtureAttentionModules(original), result.Sliced.Count);
        Assert.All(result.Sliced, s => Assert.Equal((8, perSlice, slices), (s.Heads, s.HeadsPerSlice, s.Slices)));
        var sliced = result.Model!;
        Assert.Equal(result.Sliced.Count * slices, sliced.Nodes.Count(n => n.OpType == "Softmax"));
        // The baddbmm zero term (a ConstantOfShape as large as the scores) is gone with the unsliced attention.
        Assert.DoesNotContain(sliced.Nodes, n => n.OpType == "ConstantOfShape" && n.Name.Contains("/attn"));
        // The source graph is untouched.
        Assert.Equal(result.Sliced.Count, original.Nodes.Count(n => n.OpType == "Softmax"));

        foreach (var (batch, latent) in new[] { (2, 8), (1, 16) })
        {
            var expected = OnnxGraphFileTests.RunUNet(new InferenceSession(UNetPath), batch, latent);
            var actual = OnnxGraphFileTests.RunUNet(FromMemory(sliced), batch, latent);
            Compare.Close(expected, actual, Atol, $"UNet output, slice size {size}, batch {batch}, latent {latent}");
        }
    }

    [Fact]
    public void SlicesAreChainedSoThatEachWaitsForThePreviousOutput()
    {
        var result = AttentionSlicer.Slice(OnnxGraphFile.Load(UNetPath, loadExternalData: false), AttentionSliceSize.Max);
        var index = result.Model!.Index;
        var block = result.Sliced[0].Name;
        for (int j = 1; j < 8; j++)
        {
            var slice = result.Model.Nodes.First(n => n.OpType == "Slice" && n.Name.StartsWith($"{block}/attention_slicing/slice{j}/q", StringComparison.Ordinal));
            // The steps input is computed, and its computation reads the previous slice's output.
            var steps = slice.Input[4];
            Assert.Null(index.Initializer(steps));
            Assert.True(DependsOn(index, steps, $"{block}/attention_slicing/slice{j - 1}/output"), $"slice {j} does not wait for slice {j - 1}");
        }
    }

    [Theory]
    [InlineData(AttentionLayout.Merged3D, Scaling.MulAfter)]
    [InlineData(AttentionLayout.Merged3D, Scaling.DivAfter)]
    [InlineData(AttentionLayout.Merged3D, Scaling.MulBefore)]
    [InlineData(AttentionLayout.Split4D, Scaling.MulAfter)]
    [InlineData(AttentionLayout.Split4D, Scaling.DivAfter)]
    [InlineData(AttentionLayout.Split4D, Scaling.MulBefore)]
    public void ExporterLayouts_AreDetectedAndSlicedExactly(AttentionLayout layout, Scaling scaling)
    {
        const int heads = 5;
        var model = SyntheticAttention.Build(layout, scaling, heads);
        var scan = AttentionFinder.Scan(model);
        var block = Assert.Single(scan.Blocks);
        Assert.Equal((heads, layout), (block.Heads, block.Layout));

        var x = OnnxGraphFileTests.Pattern(3 * 7 * heads * SyntheticAttention.Dim, 5);
        var expected = RunAttention(model, x, 3, 7);
        foreach (var size in new[] { AttentionSliceSize.Auto, AttentionSliceSize.Max, AttentionSliceSize.Heads(3) })
        {
            var result = AttentionSlicer.Slice(model, size);
            Assert.Equal(AttentionSlicingOutcome.Sliced, result.Outcome);
            Compare.Close(expected, RunAttention(result.Model!, x, 3, 7), Atol, $"{layout} {scaling} slice size {size}");
        }
    }

    [Fact]
    public void FusedMultiHeadAttention_IsReportedAndLeftAlone()
    {
        var model = SyntheticAttention.Build(AttentionLayout.Split4D, Scaling.MulAfter, heads: 4, fused: true);
        var before = model.Model.Clone();

        var scan = AttentionFinder.Scan(model);
        var fused = Assert.Single(scan.FusedAttention);
        Assert.Equal(("MultiHeadAttention", "com.microsoft"), (fused.OpType, fused.Domain));

        var result = AttentionSlicer.Slice(model, AttentionSliceSize.Max);
        Assert.Equal(AttentionSlicingOutcome.AlreadyFused, result.Outcome);
        Assert.False(result.Changed);
        Assert.Null(result.Model);
        Assert.Contains("fused attention", result.Describe());
        Assert.Equal(before, model.Model);
        // It is a working graph, not just a shape: ONNX Runtime runs the fused kernel.
        Assert.Equal(2 * 3 * 4 * SyntheticAttention.Dim, RunAttention(model, OnnxGraphFileTests.Pattern(2 * 3 * 16, 1), 2, 3).Length);
    }

    [Fact]
    public void AttentionWithAMaskTensor_IsSkippedWithAReasonAndNotRewritten()
    {
        var model = SyntheticAttention.Build(AttentionLayout.Split4D, Scaling.MulAfter, heads: 4, mask: "attention_mask");
        var result = AttentionSlicer.Slice(model, AttentionSliceSize.Auto);
        Assert.Equal(AttentionSlicingOutcome.Unsupported, result.Outcome);
        Assert.Null(result.Model);
        var skipped = Assert.Single(result.Skipped);
        Assert.Contains("attention_mask", skipped.Reason);
        Assert.Contains("attention_mask", result.Describe());
    }

    [Fact]
    public void SliceSizes_FollowDiffusers()
    {
        Assert.Equal(4, AttentionSliceSize.Auto.Resolve(8, "a"));
        Assert.Equal(2, AttentionSliceSize.Auto.Resolve(5, "a"));
        Assert.Equal(1, AttentionSliceSize.Auto.Resolve(1, "a"));
        Assert.Equal(1, AttentionSliceSize.Max.Resolve(8, "a"));
        Assert.Equal(3, AttentionSliceSize.Parse("3").Resolve(8, "a"));
        Assert.Equal(AttentionSliceSize.Max, AttentionSliceSize.Parse(" max "));
        var tooMany = Assert.Throws<ArgumentOutOfRangeException>(() => AttentionSliceSize.Heads(9).Resolve(8, "attn1"));
        Assert.Contains("8 heads of attention 'attn1'", tooMany.Message);
        Assert.Throws<ArgumentException>(() => AttentionSliceSize.Parse("half"));
        Assert.Throws<ArgumentException>(() => AttentionSliceSize.Parse("0"));
    }

    [Fact]
    public void SliceSizeOfAllHeads_ChangesNothing_AndTooLargeASizeFailsBeforeAnyChange()
    {
        var unet = OnnxGraphFile.Load(UNetPath, loadExternalData: false);
        var all = AttentionSlicer.Slice(unet, AttentionSliceSize.Heads(8));
        Assert.Equal(AttentionSlicingOutcome.NothingToSlice, all.Outcome);
        Assert.Null(all.Model);
        Assert.Throws<ArgumentOutOfRangeException>(() => AttentionSlicer.Slice(unet, AttentionSliceSize.Heads(9)));
    }

    [Fact]
    public void GraphWithoutAttention_IsReportedAsSuch()
    {
        var encoder = OnnxGraphFile.Load(Path.Combine(Fixtures.TinySd, "text_encoder", "model.onnx"));
        // The CLIP text encoder has attention too, but with a causal mask added to the scores: not sliceable, and said so.
        var text = AttentionSlicer.Slice(encoder, AttentionSliceSize.Auto);
        Assert.False(text.Changed);
        Assert.Equal(AttentionSlicingOutcome.Unsupported, text.Outcome);
        Assert.NotEmpty(text.Skipped);
        Assert.All(text.Skipped, s => Assert.False(string.IsNullOrWhiteSpace(s.Reason)));

        var graph = new GraphProto { Name = "relu" };
        graph.Input.Add(OnnxNodes.TensorValue("x", TensorProto.Types.DataType.Float, 2));
        graph.Output.Add(OnnxNodes.TensorValue("y", TensorProto.Types.DataType.Float, 2));
        graph.Node.Add(OnnxNodes.Node("Relu", ["x"], ["y"]));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = 14 });
        var none = AttentionSlicer.Slice(OnnxGraphFile.FromModel(model), AttentionSliceSize.Auto);
        Assert.Equal(AttentionSlicingOutcome.NoAttention, none.Outcome);
    }

    internal static InferenceSession FromMemory(OnnxGraphFile model)
    {
        using var options = new SessionOptions();
        if (model.BaseDirectory is not null)
            options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", model.BaseDirectory);
        return new InferenceSession(model.ToByteArray(), options);
    }

    private static float[] RunAttention(OnnxGraphFile model, float[] x, int batch, int tokens)
    {
        using var session = FromMemory(model);
        using var input = OrtValue.CreateTensorValueFromMemory(x, [batch, tokens, x.Length / (batch * tokens)]);
        using var outputs = session.Run(new RunOptions(), ["x"], [input], ["y"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static bool DependsOn(GraphIndex index, string value, string target)
    {
        var seen = new HashSet<string>();
        var stack = new Stack<string>([value]);
        while (stack.Count > 0)
        {
            var v = stack.Pop();
            if (v == target) return true;
            if (!seen.Add(v) || index.Producer(v) is not { } node) continue;
            foreach (var i in node.Input) stack.Push(i);
        }
        return false;
    }
}
