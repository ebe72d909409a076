using StableDiffusion.Conversion;
using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Pipeline;
using StableDiffusion.Tests.Support;
using DataType = StableDiffusion.Graph.Onnx.TensorProto.Types.DataType;

namespace StableDiffusion.Tests.Conversion;

/// <summary>tiny-sdxl converted three ways, once for all tests: default (VAE kept float32), with the VAE, and the refiner.</summary>
public sealed class SdxlConvertedFixture : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sdxl-fp16-tests-" + Guid.NewGuid().ToString("N"));

    public SdxlConvertedFixture()
    {
        Base = Path.Combine(_root, "base");
        WithVae = Path.Combine(_root, "with-vae");
        Refiner = Path.Combine(_root, "refiner");
        BaseReports = Float16FolderConverter.Convert(Path.Combine(Fixtures.Root, "tiny-sdxl"), Base);
        WithVaeReports = Float16FolderConverter.Convert(Path.Combine(Fixtures.Root, "tiny-sdxl"), WithVae, new Float16ConversionOptions { IncludeVae = true });
        RefinerReports = Float16FolderConverter.Convert(Path.Combine(Fixtures.Root, "tiny-sdxl-refiner"), Refiner);
    }

    public string Base { get; }
    public string WithVae { get; }
    public string Refiner { get; }
    public IReadOnlyList<Float16ConversionReport> BaseReports { get; }
    public IReadOnlyList<Float16ConversionReport> WithVaeReports { get; }
    public IReadOnlyList<Float16ConversionReport> RefinerReports { get; }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }
}

/// <summary>
/// ConvertTo-SdFloat16's converter on SDXL folders (optimum layout: model_index.json names <c>vae</c>; external data
/// for text_encoder_2 and the UNet): both text encoders and the UNet become float16, the force_upcast VAE stays float32
/// unless asked for, and the converted folders load on the CPU and stay within 5e-3 of diffusers' float32 images (the
/// tolerance of <see cref="Float16ConverterTests"/>).
/// </summary>
public sealed class SdxlFloat16ConversionTests(SdxlConvertedFixture converted) : IClassFixture<SdxlConvertedFixture>
{
    private const double Tolerance = 5e-3;

    [Fact]
    public void BothTextEncodersAndTheUNetAreConvertedAndTheUpcastVaeIsKept()
    {
        Assert.Equal(["text_encoder", "text_encoder_2", "unet", "vae_decoder", "vae_encoder"],
            converted.BaseReports.Select(r => r.Component).Order().ToArray());
        foreach (var component in new[] { "text_encoder", "text_encoder_2", "unet" })
        {
            var report = converted.BaseReports.Single(r => r.Component == component);
            Assert.Null(report.Float32Reason);
            Assert.True(report.BytesAfter < report.BytesBefore * 0.51, $"{report}");
            Assert.Equal(DataType.Float16, FloatType(converted.Base, component));
        }
        foreach (var component in new[] { "vae_decoder", "vae_encoder" })
        {
            var report = converted.BaseReports.Single(r => r.Component == component);
            Assert.Contains("force_upcast", report.Float32Reason);
            Assert.Contains("force_upcast", report.ToString());
            Assert.Equal(DataType.Float, FloatType(converted.Base, component));
            // Copied as it was: byte for byte.
            Assert.Equal(File.ReadAllBytes(Path.Combine(Fixtures.Root, "tiny-sdxl", component, "model.onnx")),
                File.ReadAllBytes(Path.Combine(converted.Base, component, "model.onnx")));
        }
        // The float32 external weights are not carried over next to the float16 graphs.
        Assert.False(File.Exists(Path.Combine(converted.Base, "unet", "model.onnx_data")));
        Assert.False(File.Exists(Path.Combine(converted.Base, "text_encoder_2", "model.onnx_data")));
    }

    [Fact]
    public void IncludeVaeConvertsTheVaeToo()
    {
        Assert.All(converted.WithVaeReports, r => Assert.Null(r.Float32Reason));
        Assert.Equal(DataType.Float16, FloatType(converted.WithVae, "vae_decoder"));
        Assert.Equal(DataType.Float16, FloatType(converted.WithVae, "vae_encoder"));
    }

    [Fact]
    public void TheRestOfTheFolderIsCopied()
    {
        foreach (var file in new[] { "model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json", "tokenizer_2/vocab.json",
                     "tokenizer_2/special_tokens_map.json", "tokenizer_2/tokenizer_config.json", "text_encoder_2/config.json",
                     "unet/config.json", "vae_decoder/config.json", "vae_encoder/config.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Fixtures.Root, "tiny-sdxl", file)), File.ReadAllBytes(Path.Combine(converted.Base, file)));
        Assert.False(Directory.Exists(Path.Combine(converted.Base, "expected")));
        // The refiner has no text_encoder/tokenizer (null in its index).
        Assert.Equal(["text_encoder_2", "unet", "vae_decoder", "vae_encoder"], converted.RefinerReports.Select(r => r.Component).Order().ToArray());
        Assert.False(Directory.Exists(Path.Combine(converted.Refiner, "text_encoder")));
        Assert.True(File.Exists(Path.Combine(converted.Refiner, "tokenizer_2", "vocab.json")));
    }

    [Theory]
    [InlineData("base", "euler20_default")]
    [InlineData("base", "img2img_strength03")]
    [InlineData("with-vae", "euler20_default")]
    public void TheConvertedBaseRunsOnTheCpuWithin5e3OfDiffusers(string folder, string id) =>
        CheckImages(folder == "base" ? converted.Base : converted.WithVae, "tiny-sdxl", id);

    [Fact]
    public void TheConvertedRefinerRunsOnTheCpuWithin5e3OfDiffusers() => CheckImages(converted.Refiner, "tiny-sdxl-refiner", "refiner_img2img");

    private static void CheckImages(string folder, string model, string id)
    {
        // ONNX Runtime's CPU provider runs float16 graphs, casting around the operators without float16 kernels.
        using var pipeline = StableDiffusionPipeline.Load(folder,
            new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, Precision = ModelPrecision.Float16 });
        Assert.Equal("float16", pipeline.Precision);
        var stage = SdxlParityTests.Stage.Of(model, id);
        var results = pipeline.Generate(SdxlParityTests.Requests(stage), SdxlParityTests.Settings(stage, pipeline));
        try
        {
            var reference = stage.F32("image");
            int per = reference.Length / results.Count;
            for (int i = 0; i < results.Count; i++)
                Compare.Close(reference.AsSpan(i * per, per), results[i].Pixels, Tolerance, $"{id} image {i}: float16 conversion vs diffusers float32");
        }
        finally { foreach (var r in results) r.Dispose(); }
    }

    private static DataType FloatType(string folder, string component)
    {
        var graph = OnnxGraphFile.Load(Path.Combine(folder, component, "model.onnx"), loadExternalData: false).Graph;
        return graph.Initializer.Any(t => t.DataType == (int)DataType.Float16) ? DataType.Float16 : DataType.Float;
    }
}
