using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Conversion;
using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Schedulers;
using StableDiffusion.Tests.Pipeline;
using StableDiffusion.Tests.Support;
using DataType = StableDiffusion.Graph.Onnx.TensorProto.Types.DataType;

namespace StableDiffusion.Tests.Conversion;

/// <summary>
/// ConvertTo-SdFloat16's converter on the fixture: every float weight and tensor type float16 except the kept ops
/// (ONNX Runtime loading the graphs checks the types independently), float16 weights cast back up to float32 give
/// images within 5e-3 of the original, the converted folder loads and runs, and the folder around the graphs is copied.
/// </summary>
public sealed class Float16ConverterTests(ConvertedFixture converted) : IClassFixture<ConvertedFixture>
{
    private const string Current = "pipeline-diffusers-0.35";

    private static readonly string[] Graphs = ["text_encoder", "unet", "vae_decoder", "vae_encoder"];

    [Fact]
    public void EveryComponentGraphIsConverted() =>
        Assert.Equal(Graphs, converted.Reports.Select(r => r.Component).Order().ToArray());

    [Theory]
    [InlineData("text_encoder")]
    [InlineData("unet")]
    [InlineData("vae_decoder")]
    [InlineData("vae_encoder")]
    public void EveryFloatWeightAndTensorTypeIsFloat16ExceptTheKeptOps(string component)
    {
        var report = converted.Report(component);
        var file = OnnxGraphFile.Load(Path.Combine(converted.Float16, component, "model.onnx"));
        var graph = file.Graph;
        var keptNodes = graph.Node.Where(n => report.KeptNodes.Contains(n.Name)).ToHashSet();
        var keptValues = new HashSet<string>(report.KeptInitializers);

        // Weights: float32 only where the report says the value is kept, and then only read by kept nodes or by the
        // inputs ONNX types as float32 (Resize scales).
        foreach (var tensor in graph.Initializer.Where(t => t.DataType == (int)DataType.Float))
        {
            Assert.Contains(tensor.Name, keptValues);
            foreach (var consumer in file.Consumers(tensor.Name))
                Assert.True(keptNodes.Contains(consumer) || consumer.OpType == "Resize", $"{component}: float32 '{tensor.Name}' read by float16 node {consumer.Name}");
        }
        long float32Bytes = graph.Initializer.Where(t => t.DataType == (int)DataType.Float).Sum(t => file.GetTensorBytes(t).Length);
        long float16Bytes = graph.Initializer.Where(t => t.DataType == (int)DataType.Float16).Sum(t => file.GetTensorBytes(t).Length);
        Assert.True(float32Bytes * 100 < float16Bytes, $"{component}: {float32Bytes} bytes left float32 next to {float16Bytes} float16");

        // Constants, graph inputs and outputs, and every node's float outputs.
        foreach (var node in graph.Node.Where(n => n.OpType == "Constant"))
            if (node.Attribute.Single().T is { } value && value.DataType == (int)DataType.Float)
                Assert.Contains(node.Output[0], keptValues);
        foreach (var io in graph.Input.Concat(graph.Output))
            Assert.NotEqual((int)DataType.Float, io.Type.TensorType.ElemType);
        var types = ElementTypes.Infer(graph);
        foreach (var node in graph.Node.Where(n => !keptNodes.Contains(n) && n.OpType != "Constant"))
            foreach (var output in node.Output)
                Assert.True(types[output] != DataType.Float || node.OpType == "Cast" && node.Name.EndsWith("__to_fp32"),
                    $"{component}: {node.OpType} '{node.Name}' outputs float32 '{output}' but is not kept");

        // ONNX Runtime checks every node's types when it loads the graph (CPU: float16 operators it lacks get casts).
        using var session = new InferenceSession(Path.Combine(converted.Float16, component, "model.onnx"));
    }

    [Fact]
    public void TheTimestepEmbeddingAndResizeScalesStayFloat32()
    {
        var unet = converted.Report("unet");
        // sin/cos(t·freq) at t ≈ 1000 in float16 would be off by a quarter turn: the whole argument chain stays float32.
        Assert.Contains(unet.KeptNodes, n => n.EndsWith("/Sin"));
        Assert.Contains(unet.KeptNodes, n => n.EndsWith("/Cos"));
        Assert.Contains(unet.KeptNodes, n => n == "/time_proj/Mul");
        var file = OnnxGraphFile.Load(Path.Combine(converted.Float16, "unet", "model.onnx"));
        foreach (var resize in file.Nodes.Where(n => n.OpType == "Resize"))
            Assert.Equal((int)DataType.Float, file.Index.ConstantValue(resize.Input[2])!.DataType); // ONNX types scales as float32
        Assert.All(converted.Reports, r => Assert.True(r.BytesAfter < r.BytesBefore * 0.51, $"{r}"));
    }

    [Fact]
    public void ListedOpsAndIntegerArithmeticStayFloat32()
    {
        // The text encoder builds its attention mask and positions from integers; Softmax is kept on request.
        var file = OnnxGraphFile.Load(Path.Combine(Fixtures.TinySd, "text_encoder", "model.onnx"));
        var report = Float16Converter.Convert(file, new Float16ConversionOptions { KeepOps = ["Softmax"] }, "text_encoder");
        var softmax = file.Nodes.Where(n => n.OpType == "Softmax").ToArray();
        Assert.NotEmpty(softmax);
        var types = ElementTypes.Infer(file.Graph);
        foreach (var node in softmax)
        {
            Assert.Contains(node.Name, report.KeptNodes);
            Assert.Equal(DataType.Float, types[node.Input[0]]);
            Assert.Equal(DataType.Float, types[node.Output[0]]);
        }
        Assert.Equal(2 * softmax.Length, report.CastsInserted); // one Cast in, one out, per Softmax
        using var session = new InferenceSession(file.ToByteArray());
    }

    [Fact]
    public void SaturatesBeyondFloat16AndRoundsToNearestEven()
    {
        long clamped = 0;
        float[] values = [-3.4028235e38f, 65504f, 65519f, 65520f, 1f + 2f / 4096, 1f + 6f / 4096, float.PositiveInfinity, float.NaN, 0.1f];
        var half = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(
            Float16Converter.ToHalf(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()), ref clamped));
        Assert.Equal(-65504f, (float)half[0]);   // float32's minimum (attention masks) saturates instead of becoming -inf
        Assert.Equal(65504f, (float)half[1]);
        Assert.Equal(65504f, (float)half[2]);   // rounds down to the largest float16
        Assert.Equal(65504f, (float)half[3]);   // would round to +inf: saturated
        Assert.Equal(1f, (float)half[4]);       // half an ulp above 1: the tie rounds to even (1)
        Assert.Equal(1f + 2f / 1024, (float)half[5]); // one and a half ulps: to even (2 ulps)
        Assert.True(Half.IsPositiveInfinity(half[6]));
        Assert.True(Half.IsNaN(half[7]));
        Assert.Equal((float)(Half)0.1f, (float)half[8]);
        Assert.Equal(2, clamped);
    }

    [Theory]
    [InlineData("pndm20_default")]
    [InlineData("batch4_pndm20")]
    [InlineData("euler20")]
    [InlineData("dpmpp2m_karras20_batch3_128")]
    public void Float16WeightsCastBackToFloat32RunOnTheCpuWithin5e3OfTheOriginal(string id)
    {
        var c = PipelineCase.Load(Current).Single(x => x.Id == id);
        using var widened = StableDiffusionPipeline.Load(converted.Widened, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        using var original = StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        Assert.Equal("float32", widened.Precision);
        var a = c.Images(original);
        var b = c.Images(widened);
        for (int i = 0; i < a.Length; i++)
            Compare.Close(a[i], b[i], 5e-3, $"{id} image {i}: float16 weights in float32 vs the original");
    }

    [Theory]
    [InlineData("pndm20_default")]
    [InlineData("dpmpp2m_karras20_batch3_128")]
    public void TheConvertedFolderLoadsAndRunsOnTheCpu(string id)
    {
        // ONNX Runtime's CPU provider runs float16 graphs, casting around the operators that have no float16 kernel
        // (measured here: image within 1e-3 of diffusers' float32, like the float16-IO fixture).
        var c = PipelineCase.Load(Current).Single(x => x.Id == id);
        using var pipeline = StableDiffusionPipeline.Load(converted.Float16,
            new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, Precision = ModelPrecision.Float16 });
        Assert.Equal("float16", pipeline.Precision);
        var images = c.Images(pipeline);
        var reference = c.F32("image");
        int per = reference.Length / images.Length;
        for (int i = 0; i < images.Length; i++)
            Compare.Close(reference.AsSpan(i * per, per), images[i], 5e-3, $"{id} image {i}: float16 conversion vs diffusers float32");
    }

    [Fact]
    public void KeepIOTypesKeepsFloat32InputsAndOutputsAndStillReportsFloat16()
    {
        foreach (var component in Graphs)
        {
            var graph = OnnxGraphFile.Load(Path.Combine(converted.KeepIO, component, "model.onnx")).Graph;
            foreach (var io in graph.Input.Concat(graph.Output).Where(v => v.Name != "input_ids"))
                Assert.Equal((int)DataType.Float, io.Type.TensorType.ElemType);
            Assert.Contains(graph.Initializer, t => t.DataType == (int)DataType.Float16);
        }
        using var pipeline = StableDiffusionPipeline.Load(converted.KeepIO, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        Assert.Equal("float16", pipeline.Precision); // from the graph's metadata: it computes in float16
        Assert.Equal(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, pipeline.UNet.FloatType);
    }

    [Fact]
    public void TheRestOfTheModelFolderIsCopied()
    {
        foreach (var file in new[] { "model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
                     "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Fixtures.TinySd, file)), File.ReadAllBytes(Path.Combine(converted.Float16, file)));
        Assert.False(Directory.Exists(Path.Combine(converted.Float16, "expected"))); // not a component of model_index.json
        Assert.False(File.Exists(Path.Combine(converted.Float16, "unet", "weights.pb"))); // the float32 weights are not carried over
        Assert.Equal(Graphs.Order(), Float16FolderConverter.GraphComponents(converted.Float16).Order());
    }

    [Fact]
    public void RefusesToOverwriteOrToConvertIntoTheSource()
    {
        var e = Assert.Throws<Float16ConversionException>(() => Float16FolderConverter.Convert(Fixtures.TinySd, converted.Float16));
        Assert.Equal(Float16ConversionError.DestinationExists, e.Error);
        Assert.Contains("-Force", e.Message);
        e = Assert.Throws<Float16ConversionException>(() => Float16FolderConverter.Convert(Fixtures.TinySd, Fixtures.TinySd));
        Assert.Equal(Float16ConversionError.DestinationIsSource, e.Error);
        Assert.Contains("source", e.Message);
        var missing = Assert.Throws<ModelLoadException>(() => Float16FolderConverter.Convert(Path.Combine(Fixtures.Root, "nope"), Path.GetTempPath()));
        Assert.Equal(ModelLoadError.FolderNotFound, missing.Error);
    }

    [Fact]
    public void AnOperatorWithoutAnyCpuKernelInAFloat16GraphIsAClearError()
    {
        // com.microsoft GroupNorm has CUDA kernels only: ONNX Runtime cannot cast its way around it on the CPU.
        var graph = new GraphProto { Name = "groupnorm" };
        graph.Input.Add(OnnxNodes.TensorValue("x", DataType.Float16, 1, 8, 8, 32));
        graph.Output.Add(OnnxNodes.TensorValue("y", DataType.Float16, 1, 8, 8, 32));
        graph.Initializer.Add(TensorData.FromFloats("gamma", new float[32], 32));
        graph.Initializer.Add(TensorData.FromFloats("beta", new float[32], 32));
        graph.Node.Add(OnnxNodes.Node("GroupNorm", ["x", "gamma", "beta"], ["y"], "gn", "com.microsoft",
            OnnxNodes.Float("epsilon", 1e-5f), OnnxNodes.Int("groups", 8), OnnxNodes.Int("activation", 0)));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        var path = Path.Combine(Path.GetTempPath(), $"groupnorm-{Guid.NewGuid():N}.onnx");
        OnnxGraphFile.FromModel(model).Save(path);
        try
        {
            var e = Assert.Throws<ModelLoadException>(() => new SessionFactory(ExecutionProvider.Cpu).Create(path, "unet"));
            Assert.True(e.Error == ModelLoadError.NoFloat16Kernels, e.Message);
            Assert.Contains("GroupNorm", e.Message);
            Assert.Contains("-ExecutionProvider Cuda", e.Message);
            Assert.Contains("-Precision Float32", e.Message);
        }
        finally { File.Delete(path); }
    }
}
