using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Graph;

public sealed class OnnxGraphFileTests : IDisposable
{
    private static string UNetPath => Path.Combine(Fixtures.TinySd, "unet", "model.onnx");
    private static string WeightsPath => Path.Combine(Fixtures.TinySd, "unet", "weights.pb");
    private readonly string _temp = Directory.CreateTempSubdirectory("sd-graph-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void Load_ReadsExternalWeightsFromTheFileBesideTheModel()
    {
        var lazy = OnnxGraphFile.Load(UNetPath, loadExternalData: false);
        var external = lazy.Initializers.Where(TensorData.IsExternal).ToList();
        Assert.NotEmpty(external);
        Assert.True(lazy.HasExternalData);

        // Independently of the loader: the referenced ranges of weights.pb, read with plain file I/O.
        var weights = File.ReadAllBytes(WeightsPath);
        var loaded = OnnxGraphFile.Load(UNetPath);
        Assert.False(loaded.HasExternalData);
        foreach (var tensor in external)
        {
            var keys = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value);
            Assert.Equal("weights.pb", keys["location"]);
            long offset = keys.TryGetValue("offset", out var o) ? long.Parse(o) : 0;
            long length = long.Parse(keys["length"]);
            Assert.Equal(TensorData.ElementCount(tensor) * TensorData.ElementSize((TensorProto.Types.DataType)tensor.DataType), length);
            var inline = loaded.Initializer(tensor.Name)!;
            Assert.True(inline.HasRawData);
            Assert.True(weights.AsSpan((int)offset, (int)length).SequenceEqual(inline.RawData.Span), tensor.Name);
        }
    }

    [Fact]
    public void Index_FindsAProducerForEveryComputedInputAndListsEveryConsumer()
    {
        var file = OnnxGraphFile.Load(UNetPath, loadExternalData: false);
        var index = file.Index;
        foreach (var node in file.Nodes)
            foreach (var input in node.Input.Where(i => i.Length > 0))
            {
                if (index.Initializer(input) is null && !index.IsGraphInput(input))
                    Assert.NotNull(index.Producer(input));
                Assert.Contains(node, index.Consumers(input));
            }
        foreach (var input in new[] { "sample", "timestep", "encoder_hidden_states" })
            Assert.NotEmpty(index.Consumers(input));
        Assert.Equal(14, file.OpsetVersion());
        Assert.Equal(14, file.OpsetVersion("ai.onnx"));
        Assert.Equal(0, file.OpsetVersion("com.microsoft"));
    }

    [Fact]
    public void Index_CountsASubgraphReadOfAnOuterValueAsAConsumption()
    {
        var then = new GraphProto { Name = "then" };
        then.Node.Add(OnnxNodes.Node("Identity", ["x"], ["t"]));
        then.Output.Add(OnnxNodes.TensorValue("t", TensorProto.Types.DataType.Float, 1));
        var otherwise = new GraphProto { Name = "else" };
        otherwise.Node.Add(OnnxNodes.Node("Neg", ["x"], ["e"]));
        otherwise.Output.Add(OnnxNodes.TensorValue("e", TensorProto.Types.DataType.Float, 1));
        var graph = new GraphProto { Name = "g" };
        graph.Node.Add(OnnxNodes.Node("Relu", ["in"], ["x"]));
        var branch = OnnxNodes.Node("If", ["cond"], ["y"]);
        branch.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = then });
        branch.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = otherwise });
        graph.Node.Add(branch);

        var index = new GraphIndex(graph);
        Assert.Same(branch, Assert.Single(index.Consumers("x")));
        Assert.Same(graph.Node[0], index.Producer("x"));
    }

    [Fact]
    public void Save_WithExternalData_RoundTripsAndOnnxRuntimeGivesTheSameOutputs()
    {
        var file = OnnxGraphFile.Load(UNetPath);
        var path = Path.Combine(_temp, "unet.onnx");
        file.Save(path, "unet.onnx_data");

        var reloadedLazy = OnnxGraphFile.Load(path, loadExternalData: false);
        Assert.True(reloadedLazy.HasExternalData);
        Assert.All(reloadedLazy.Initializers.Where(TensorData.IsExternal),
            t => Assert.Equal("unet.onnx_data", t.ExternalData.Single(e => e.Key == "location").Value));
        Assert.Equal(file.Model, OnnxGraphFile.Load(path).Model);

        var expected = RunUNet(new InferenceSession(UNetPath));
        var actual = RunUNet(new InferenceSession(path));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Save_SingleFile_InlinesEveryTensor()
    {
        var file = OnnxGraphFile.Load(UNetPath, loadExternalData: false);
        var path = Path.Combine(_temp, "single.onnx");
        file.Save(path);
        Assert.Equal(["single.onnx"], Directory.GetFiles(_temp).Select(Path.GetFileName));
        var reloaded = OnnxGraphFile.Parse(File.ReadAllBytes(path));
        Assert.False(reloaded.HasExternalData);
        Assert.Equal(OnnxGraphFile.Load(UNetPath).Model, reloaded.Model);
        // The source object still refers to weights.pb: saving copied, it did not rewrite the loaded model.
        Assert.True(file.HasExternalData);
    }

    [Fact]
    public void BytesWithExternalReferences_LoadInOnnxRuntimeWithTheExternalFolderOption()
    {
        var file = OnnxGraphFile.Load(UNetPath, loadExternalData: false);
        using var options = new SessionOptions();
        options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", Path.GetDirectoryName(UNetPath)!);
        var fromBytes = RunUNet(new InferenceSession(file.ToByteArray(), options));
        Assert.Equal(RunUNet(new InferenceSession(UNetPath)), fromBytes);
    }

    [Fact]
    public void ExternalDataOutsideTheModelFolder_IsRefused()
    {
        var tensor = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, DataLocation = TensorProto.Types.DataLocation.External };
        tensor.Dims.Add(1);
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "../secret.bin" });
        var e = Assert.Throws<FormatException>(() => TensorData.GetBytes(tensor, _temp));
        Assert.Contains("leaves the model's folder", e.Message);
        var missing = Assert.Throws<InvalidOperationException>(() => TensorData.GetBytes(tensor));
        Assert.Contains("not loaded from a file", missing.Message);
    }

    [Fact]
    public void TensorData_ReadsTypedFieldsLikeRawData()
    {
        var typed = new TensorProto { Name = "f", DataType = (int)TensorProto.Types.DataType.Float };
        typed.Dims.AddRange([2, 2]);
        typed.FloatData.AddRange([1f, -2.5f, 3e-8f, float.MaxValue]);
        var raw = TensorData.FromFloats("f", [1f, -2.5f, 3e-8f, float.MaxValue], 2, 2);
        Assert.True(TensorData.GetBytes(typed).Span.SequenceEqual(raw.RawData.Span));

        var half = new TensorProto { Name = "h", DataType = (int)TensorProto.Types.DataType.Float16 };
        half.Dims.Add(2);
        half.Int32Data.AddRange([BitConverter.HalfToUInt16Bits((Half)0.125f), BitConverter.HalfToUInt16Bits((Half)(-3f))]);
        Assert.Equal([0.125, -3.0], TensorData.ToDoubles(half)!);

        var count = new TensorProto { Name = "c", DataType = (int)TensorProto.Types.DataType.Float };
        count.Dims.Add(3);
        count.FloatData.Add(1f);
        Assert.Throws<FormatException>(() => TensorData.GetBytes(count));
    }

    [Fact]
    public void Load_NonOnnxFile_ThrowsFormatException()
    {
        var path = Path.Combine(_temp, "bad.onnx");
        File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]);
        Assert.Throws<FormatException>(() => OnnxGraphFile.Load(path));
        Assert.Throws<FileNotFoundException>(() => OnnxGraphFile.Load(Path.Combine(_temp, "missing.onnx")));
    }

    /// <summary>One UNet call on a fixed pseudo-random input (the same for every session).</summary>
    internal static float[] RunUNet(InferenceSession session, int batch = 1, int size = 8)
    {
        using (session)
        {
            var sample = Pattern(batch * 4 * size * size, 1);
            var hidden = Pattern(batch * 77 * 32, 2);
            using var s = OrtValue.CreateTensorValueFromMemory(sample, [batch, 4, size, size]);
            using var t = OrtValue.CreateTensorValueFromMemory(new[] { 500f }, [1]);
            using var h = OrtValue.CreateTensorValueFromMemory(hidden, [batch, 77, 32]);
            using var outputs = session.Run(new RunOptions(), ["sample", "timestep", "encoder_hidden_states"], [s, t, h], ["out_sample"]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
    }

    internal static float[] Pattern(int n, int seed)
    {
        var rng = new System.Random(seed);
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        return values;
    }
}
