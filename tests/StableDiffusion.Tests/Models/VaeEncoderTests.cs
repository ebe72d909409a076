using System.Text.Json;
using System.Text.RegularExpressions;
using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;
using StableDiffusion.Models;
using StableDiffusion.Random;
using StableDiffusion.Tests.Pipeline;
using StableDiffusion.Tests.Random;
using StableDiffusion.Tests.Support;
using Xunit.Abstractions;

namespace StableDiffusion.Tests.Models;

/// <summary>
/// The VAE encoder and its latent distribution against diffusers 0.35.2: the distribution parameters of every
/// img2img and inpaint reference call (tiny-sd through the rewrite of its in-graph sample, tiny-sd-inpaint through
/// Optimum's latent_parameters contract) within the README's 2e-4, the VAE noise bit for bit from the case's
/// torch generators in draw order (and the samples from the reference parameters), the samples from our parameters within 2e-4, and the refusals of graphs that
/// cannot reproduce seeds.
/// </summary>
[Collection(LiveSessionCount.Name)]
public sealed partial class VaeEncoderTests(VaeEncoderFixture encoders, ITestOutputHelper output) : IClassFixture<VaeEncoderFixture>
{
    private const double ParametersTolerance = 2e-4; // tiny-sd/README.md: measured 2.5e-5, budget 2e-4

    private static readonly string[] Manifests = ["img2img-diffusers-0.35", "inpaint-diffusers-0.35"];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var manifest in Manifests)
            foreach (var c in PipelineCase.Load(manifest).Where(c => c.HasFile("vae_latent_parameters")))
                data.Add(manifest, c.Id);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ParametersAndSamplesMatchDiffusers(string manifest, string id)
    {
        var c = PipelineCase.Load(manifest).Single(x => x.Id == id);
        var encoder = encoders.For(ModelFolder(c));
        Assert.Equal(4, encoder.LatentChannels);
        Assert.Equal(!ModelFolder(c).EndsWith("inpaint", StringComparison.Ordinal), encoder.Rewritten);

        var calls = c.Raw.GetProperty("vae_encode_calls").EnumerateArray().ToArray();
        var expected = c.F32("vae_latent_parameters");
        var eps = c.F32("vae_sample_eps");
        var samples = c.F32("vae_latent_sample");
        int row = expected.Length / calls.Length;
        Assert.Equal(expected.Length / 2, eps.Length);
        double worstParameters = 0, worstSample = 0;
        for (int k = 0; k < calls.Length; k++)
        {
            var (image, height, width) = Input(c, calls[k]);
            var parameters = encoder.EncodeParameters(image, 1, height, width);
            var reference = expected.AsSpan(k * row, row);
            Compare.Close(reference, parameters, ParametersTolerance, $"{id} call {k}: latent_parameters");
            worstParameters = Math.Max(worstParameters, Compare.MaxAbs(reference, parameters));

            var sample = new float[row / 2];
            LatentDistribution.Sample(parameters, eps.AsSpan(k * row / 2, row / 2), sample);
            var referenceSample = samples.AsSpan(k * row / 2, row / 2);
            Compare.Close(referenceSample, sample, ParametersTolerance, $"{id} call {k}: latent sample from our parameters");
            worstSample = Math.Max(worstSample, Compare.MaxAbs(referenceSample, sample));
        }
        output.WriteLine($"{id}: max |Δ| latent_parameters {worstParameters:E2}, latent sample {worstSample:E2} ({(encoder.Rewritten ? "rewritten tiny-sd graph" : "latent_parameters graph")})");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void VaeNoiseReplaysTheCaseGeneratorsInDrawOrder(string manifest, string id)
    {
        var c = PipelineCase.Load(manifest).Single(x => x.Id == id);
        var parameters = c.F32("vae_latent_parameters");
        var expectedEps = c.F32("vae_sample_eps");
        var expectedSamples = c.F32("vae_latent_sample");
        int n = expectedEps.Length / c.Raw.GetProperty("vae_encode_calls").GetArrayLength();
        var generators = new Dictionary<int, TorchGenerator>();
        var eps = new float[n];
        var sample = new float[n];
        int k = 0;
        foreach (var draw in c.Raw.GetProperty("draw_order").EnumerateArray())
        {
            int index = draw.GetProperty("generator_index").GetInt32();
            if (!generators.TryGetValue(index, out var generator))
                generators[index] = generator = new TorchGenerator((ulong)draw.GetProperty("seed").GetInt64());
            int size = draw.GetProperty("shape").EnumerateArray().Aggregate(1, (p, d) => p * d.GetInt32());
            if (!draw.GetProperty("purpose").GetString()!.StartsWith("vae_sample", StringComparison.Ordinal))
            {
                generator.Randn(new float[size]); // the pipeline's other draws, which move the generator on
                continue;
            }
            Assert.Equal(n, size);
            LatentDistribution.Sample(parameters.AsSpan(k * 2 * n, 2 * n), generator, eps, sample);
            BitCompare.Float32Exact(Array.ConvertAll(expectedEps[(k * n)..((k + 1) * n)], v => (double)v), eps, 0, $"{id} VAE draw {k}");
            // From the reference parameters the sample is torch's float32 arithmetic on the same numbers, bit for bit.
            BitCompare.Float32Exact(Array.ConvertAll(expectedSamples[(k * n)..((k + 1) * n)], v => (double)v), sample, 0, $"{id} VAE sample {k}");
            k++;
        }
        Assert.Equal(expectedEps.Length / n, k);
        output.WriteLine($"{id}: {k} VAE draw(s) and sample(s) bit-exact");
    }

    [Fact]
    public void RewrittenGraphGivesTheOptimumGraphsParameters()
    {
        var rewritten = encoders.For(Fixtures.TinySd);
        var optimum = encoders.For(VaeEncoderFixture.TinySdInpaint);
        Assert.True(rewritten.Rewritten);
        Assert.False(optimum.Rewritten);
        var image = Image(2, 64, 80, seed: 5);
        var a = rewritten.EncodeParameters(image, 2, 64, 80);
        var b = optimum.EncodeParameters(image, 2, 64, 80);
        Assert.Equal(2 * 8 * 8 * 10, a.Length);
        Compare.Close(b, a, 1e-5, "rewritten tiny-sd vs tiny-sd-inpaint latent_parameters");
        output.WriteLine($"rewritten vs Optimum graph: max |Δ| {Compare.MaxAbs(b, a):E2}");
    }

    [Fact]
    public void Float16GraphIsRewrittenInItsOwnPrecision()
    {
        // tiny-sd-fp16io: the fp32 graph between Cast(to=float) on the input and Cast(to=float16) on the output.
        using var encoder = VaeEncoder.Load(encoders.Sessions, Path.Combine(Fixtures.TinySdFp16Io, "vae_encoder", "model.onnx"));
        Assert.True(encoder.Rewritten);
        Assert.Equal(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float16, encoder.FloatType);
        var rewritten = LatentParametersRewriter.Rewrite(OnnxGraphFile.Load(Path.Combine(Fixtures.TinySdFp16Io, "vae_encoder", "model.onnx"))).Model!;
        Assert.Equal((int)TensorProto.Types.DataType.Float16, rewritten.Graph.Output[0].Type.TensorType.ElemType);
        Assert.Equal("Cast", rewritten.Producer("latent_parameters")!.OpType);
        var c = PipelineCase.Load("img2img-diffusers-0.35").Single(x => x.Id == "pndm_s075");
        var parameters = encoder.EncodeParameters(c.F32("image_preprocessed"), 1, 64, 64);
        Compare.Close(c.F32("vae_latent_parameters"), parameters, 5e-3, "fp16io latent_parameters"); // README: ~5e-3 for fp16io outputs
        output.WriteLine($"fp16io: max |Δ| latent_parameters {Compare.MaxAbs(c.F32("vae_latent_parameters"), parameters):E2}");
    }

    [Fact]
    public void RewriteExposesTheQuantConvOutputAndDropsTheSampling()
    {
        var original = OnnxGraphFile.Load(Path.Combine(Fixtures.TinySd, "vae_encoder", "model.onnx"));
        int nodes = original.Graph.Node.Count;
        var result = LatentParametersRewriter.Rewrite(original);

        Assert.True(result.Found, result.Description);
        Assert.True(result.Rewritten);
        Assert.Equal(4, result.LatentChannels);
        var graph = result.Model!.Graph;
        var declared = Assert.Single(graph.Output);
        Assert.Equal("latent_parameters", declared.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Float, declared.Type.TensorType.ElemType);
        Assert.Equal(8, declared.Type.TensorType.Shape.Dim[1].DimValue);
        Assert.Equal("batch", declared.Type.TensorType.Shape.Dim[0].DimParam); // the input's name, for free-dimension overrides
        var exposed = result.Model.Producer(result.Model.Producer("latent_parameters")!.Input[0])!;
        Assert.Equal("Conv", exposed.OpType);
        Assert.Equal("quant_conv.weight", exposed.Input[1]);
        Assert.DoesNotContain(graph.Node, n => n.OpType is "RandomNormalLike" or "Exp" or "Clip");
        // Only the sampling after quant_conv went: the encoder's nodes are all there.
        var kept = graph.Node.Select(n => n.Name).ToHashSet();
        int quantConv = original.Graph.Node.ToList().FindIndex(n => n.Name == exposed.Name);
        var removed = original.Graph.Node.Select((n, i) => (n, i)).Where(x => !kept.Contains(x.n.Name)).ToList();
        Assert.All(removed, x => Assert.True(x.i > quantConv, $"{x.n.Name} (before quant_conv) was removed"));
        Assert.Equal(nodes - removed.Count + 1, graph.Node.Count);
        output.WriteLine($"rewrite: {result.Description}");
        Assert.Contains("RandomNormalLike", result.Description);
        // The input graph is left as it was.
        Assert.Equal("latent_sample", Assert.Single(original.Graph.Output).Name);
        Assert.Equal(nodes, original.Graph.Node.Count);
    }

    [Fact]
    public void OptimumGraphIsUsedAsItIs()
    {
        var model = OnnxGraphFile.Load(Path.Combine(VaeEncoderFixture.TinySdInpaint, "vae_encoder", "model.onnx"));
        var result = LatentParametersRewriter.Rewrite(model);
        Assert.Same(model, result.Model);
        Assert.False(result.Rewritten);
        Assert.Equal(4, result.LatentChannels);
    }

    [Fact]
    public void OutputsAreReadWithoutParsingTheGraph()
    {
        Assert.Equal(new[] { "latent_sample" }, OnnxGraphFile.ReadOutputs(Path.Combine(Fixtures.TinySd, "vae_encoder", "model.onnx")).Select(o => o.Name));
        var outputs = OnnxGraphFile.ReadOutputs(Path.Combine(VaeEncoderFixture.TinySdInpaint, "vae_encoder", "model.onnx"));
        Assert.Equal("latent_parameters", Assert.Single(outputs).Name);
        Assert.Equal(8, outputs[0].Type.TensorType.Shape.Dim[1].DimValue);
    }

    [Theory]
    [InlineData(SyntheticSampling.Split)]
    [InlineData(SyntheticSampling.ConstantSlices)]
    public void ExporterVariantsAreRewrittenAndRun(SyntheticSampling sampling)
    {
        using var folder = new TempFolder();
        string path = folder.Save(SyntheticVaeEncoder.Build(sampling));
        using var encoder = VaeEncoder.Load(encoders.Sessions, path);
        Assert.True(encoder.Rewritten);
        Assert.Equal(4, encoder.LatentChannels);
        var image = Image(2, 3, 5, seed: 1);
        var parameters = encoder.EncodeParameters(image, 2, 3, 5);
        Compare.Close(SyntheticVaeEncoder.Conv(image, 2, 15, 8), parameters, 1e-6, $"{sampling}: the Conv output");
        // Deterministic: the random node is gone.
        Assert.Equal(parameters, encoder.EncodeParameters(image, 2, 3, 5));
    }

    [Fact]
    public void MeanOnlyGraphIsRefusedClearly()
    {
        var result = LatentParametersRewriter.Rewrite(SyntheticVaeEncoder.Build(SyntheticSampling.None));
        Assert.False(result.Found);
        Assert.Contains("draws nothing at random", result.Description);
        Assert.Contains("mode()", result.Description);

        using var folder = new TempFolder();
        string path = folder.Save(SyntheticVaeEncoder.Build(SyntheticSampling.None));
        int live = OnnxComponent.LiveSessions;
        var e = Assert.Throws<ModelLoadException>(() => VaeEncoder.Load(encoders.Sessions, path));
        Assert.Equal(ModelLoadError.UnsupportedGraph, e.Error);
        Assert.Contains("'latent_sample' Float [batch, 4, height_latent, width_latent]", e.Message);
        Assert.Contains("Optimum 1.23", e.Message);
        Assert.Contains("latent_parameters", e.Message);
        Assert.Equal(live, OnnxComponent.LiveSessions);
    }

    [Theory]
    [InlineData(SyntheticSampling.Unrecognized)]
    [InlineData(SyntheticSampling.SwappedHalves)]
    public void UnrecognizedInGraphSamplingIsRefusedClearly(SyntheticSampling sampling)
    {
        using var folder = new TempFolder();
        string path = folder.Save(SyntheticVaeEncoder.Build(sampling));
        var e = Assert.Throws<ModelLoadException>(() => VaeEncoder.Load(encoders.Sessions, path));
        Assert.Equal(ModelLoadError.UnsupportedGraph, e.Error);
        Assert.Contains("'eps_node', unseeded, so it cannot reproduce seeded images", e.Message);
        Assert.Contains("not recognized", e.Message);
        Assert.Contains("Optimum 1.23", e.Message);
    }

    [Fact]
    public void RandomParametersAreRefused()
    {
        var result = LatentParametersRewriter.Rewrite(SyntheticVaeEncoder.Build(SyntheticSampling.NoisyParameters));
        Assert.False(result.Found);
        Assert.Contains("parameters themselves depend on RandomUniformLike 'dither_node'", result.Description);
    }

    [Fact]
    public void SessionOnTheSampleOutputIsRefused()
    {
        string path = Path.Combine(Fixtures.TinySd, "vae_encoder", "model.onnx");
        int live = OnnxComponent.LiveSessions;
        var e = Assert.Throws<ModelLoadException>(() => new VaeEncoder(encoders.Sessions.Create(path, VaeEncoder.Component), path));
        Assert.Contains("drawn inside the graph without a seed", e.Message);
        Assert.Contains(nameof(VaeEncoder.Load), e.Message);
        Assert.Equal(live, OnnxComponent.LiveSessions);
    }

    [Fact]
    public void MissingFileIsAModelLoadError()
    {
        var e = Assert.Throws<ModelLoadException>(() => VaeEncoder.Load(encoders.Sessions, "/nonexistent/vae_encoder/model.onnx"));
        Assert.Equal(ModelLoadError.MissingComponent, e.Error);
    }

    [Fact]
    public void DistributionClampsLogVarianceAndModeIsTheMean()
    {
        float[] parameters = [1f, -2f, 0.5f, 100f, -100f, 0f];
        float[] eps = [1f, 1f, 2f];
        var sample = new float[3];
        LatentDistribution.Sample(parameters, eps, sample);
        Assert.True(Math.Abs(sample[0] - (1f + MathF.Exp(10f))) <= 1e-6f * MathF.Exp(10f), $"logvar 100 clamps to 20: {sample[0]}");
        Assert.True(Math.Abs(sample[1] - (-2f + MathF.Exp(-15f))) <= 1e-12f, $"logvar -100 clamps to -30: {sample[1]}");
        Assert.Equal(0.5f + 2f, sample[2]);
        var mean = new float[3];
        LatentDistribution.Mode(parameters, mean);
        Assert.Equal(new[] { 1f, -2f, 0.5f }, mean);
        Assert.Throws<ArgumentException>(() => LatentDistribution.Sample(parameters, eps, new float[2]));
        Assert.Throws<ArgumentException>(() => LatentDistribution.Mode(parameters.AsSpan(0, 5), mean));
    }

    [Fact]
    public void SamplingDoesNotAllocate()
    {
        var parameters = new float[8 * 64];
        var eps = new float[4 * 64];
        var sample = new float[4 * 64];
        LatentDistribution.Sample(parameters, eps, sample);
        long before = GC.GetAllocatedBytesForCurrentThread();
        LatentDistribution.Sample(parameters, eps, sample);
        LatentDistribution.Mode(parameters, sample);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    private static string ModelFolder(PipelineCase c) =>
        c.Raw.TryGetProperty("model_path", out var p) ? Path.GetFullPath(c.FixturePath(p.GetString()!)) : Fixtures.TinySd;

    /// <summary>The encoder input of one vae_encode_calls entry ("image_preprocessed[0]", "masked_image").</summary>
    private static (float[] Image, int Height, int Width) Input(PipelineCase c, JsonElement call)
    {
        var m = InputName().Match(call.GetProperty("input").GetString()!);
        Assert.True(m.Success, $"{c.Id}: unexpected encoder input {call}");
        var shape = call.GetProperty("input_shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
        int size = 3 * shape[2] * shape[3];
        int row = m.Groups[2].Success ? int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        var all = c.F32(m.Groups[1].Value);
        return (all[(row * size)..((row + 1) * size)], shape[2], shape[3]);
    }

    [GeneratedRegex(@"^(\w+)(?:\[(\d+)\])?$")]
    private static partial Regex InputName();

    private static float[] Image(int batch, int height, int width, int seed)
    {
        var rng = new System.Random(seed);
        return Enumerable.Range(0, batch * 3 * height * width).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>A temporary folder for graphs that must be files (VaeEncoder.Load reads a path).</summary>
    private sealed class TempFolder : IDisposable
    {
        private readonly string _path = Directory.CreateTempSubdirectory("vae-encoder-test-").FullName;

        public string Save(OnnxGraphFile graph)
        {
            string file = Path.Combine(_path, $"model-{Guid.NewGuid():N}.onnx");
            graph.Save(file);
            return file;
        }

        public void Dispose() => Directory.Delete(_path, recursive: true);
    }
}
