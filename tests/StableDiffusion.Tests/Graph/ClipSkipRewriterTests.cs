using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Graph;

/// <summary>
/// <see cref="ClipSkipRewriter"/> on the tiny-sd text encoder (3 layers, opset-14 decomposed final layer norm): the layer
/// it picks is the one the fixture README names for A1111's CLIP skip 2 (= diffusers' clip_skip 1), found by structure.
/// </summary>
public sealed class ClipSkipRewriterTests
{
    private static OnnxGraphFile TinyEncoder() => OnnxGraphFile.Load(Path.Combine(Fixtures.TinySd, "text_encoder", "model.onnx"));

    [Fact]
    public void ClipSkip1ReadsTheOutputOfTheSecondOfThreeLayers()
    {
        var model = TinyEncoder();
        int nodes = model.Graph.Node.Count, outputs = model.Graph.Output.Count;
        var rewrite = ClipSkipRewriter.Rewrite(model, 1);

        Assert.True(rewrite.Found, rewrite.Description);
        Assert.Equal(3, rewrite.Layers);
        Assert.Equal("/text_model/encoder/layers.1/Add_1_output_0", rewrite.HiddenState); // README, "CLIP skip 2 in ONNX"
        Assert.Equal(ClipSkipRewriter.OutputName(1), rewrite.OutputName);
        var added = rewrite.Model!.Graph.Output.Single(o => o.Name == rewrite.OutputName);
        var last = model.Graph.Output.Single(o => o.Name == "last_hidden_state");
        Assert.Equal(last.Type, added.Type);
        // Only the final layer norm is copied (the decomposed ReduceMean/Sub/Pow/… form), onto the chosen layer's output.
        var copied = rewrite.Model.Graph.Node.Skip(nodes).ToList();
        Assert.InRange(copied.Count, 1, 12);
        Assert.All(copied, n => Assert.StartsWith("/text_model/final_layer_norm/", n.Name));
        Assert.Contains(copied, n => n.Input.Contains(rewrite.HiddenState));
        // The input model is unchanged.
        Assert.Equal(nodes, model.Graph.Node.Count);
        Assert.Equal(outputs, model.Graph.Output.Count);
    }

    [Fact]
    public void EveryClipSkipUpToTheLayerCountHasItsLayer()
    {
        var model = TinyEncoder();
        Assert.Equal("/text_model/encoder/layers.0/Add_1_output_0", ClipSkipRewriter.Rewrite(model, 2).HiddenState);
        // hidden_states[-(3 + 1)] = hidden_states[0]: the embeddings, before the first layer.
        var embeddings = ClipSkipRewriter.Rewrite(model, 3);
        Assert.True(embeddings.Found, embeddings.Description);
        Assert.StartsWith("/text_model/embeddings/", embeddings.HiddenState);
        Assert.Equal("clipSkip", Assert.Throws<ArgumentOutOfRangeException>(() => ClipSkipRewriter.Rewrite(model, 4)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => ClipSkipRewriter.Rewrite(model, 0));
    }

    [Fact]
    public void AGraphWithoutResidualLayersIsRefused()
    {
        // input_ids → Gather → LayerNormalization → last_hidden_state: an embedding and a norm, no encoder layers.
        var graph = new GraphProto { Name = "no_layers" };
        graph.Input.Add(OnnxNodes.TensorValue("input_ids", TensorProto.Types.DataType.Int64, "batch", 77));
        graph.Output.Add(OnnxNodes.TensorValue("last_hidden_state", TensorProto.Types.DataType.Float, "batch", 77, 4));
        graph.Initializer.Add(Floats("table", [10, 4], new float[40]));
        graph.Initializer.Add(Floats("ones", [4], [1, 1, 1, 1]));
        graph.Node.Add(OnnxNodes.Node("Gather", ["table", "input_ids"], ["embedded"], "gather"));
        graph.Node.Add(OnnxNodes.Node("LayerNormalization", ["embedded", "ones"], ["last_hidden_state"], "norm"));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });

        var rewrite = ClipSkipRewriter.Rewrite(OnnxGraphFile.FromModel(model), 1);
        Assert.False(rewrite.Found);
        Assert.Contains("residual", rewrite.Description);
    }

    internal static TensorProto Floats(string name, long[] dims, float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(values);
        return t;
    }
}
