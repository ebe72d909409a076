using StableDiffusion.Conversion;
using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Schedulers;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>
/// A VAE decoder that returns NaN/Inf (the SDXL VAE's float16 overflow) never becomes a black image: the decode stage
/// falls back on a float32 decoder when it has one, else stops with <see cref="VaeOverflowException"/> naming the way out.
/// </summary>
public sealed class VaeOverflowTests
{
    private static readonly LatentShape Shape = new(1, 4, 2, 2);

    [Fact]
    public void AFloat16DecoderReturningNaNStopsWithTheFp16FixAdvice()
    {
        var stage = new DecodeStage(Fake(float.NaN), "float16");
        var e = Assert.Throws<VaeOverflowException>(() => Decode(stage));
        Assert.Equal("float16", e.Precision);
        Assert.Equal(1, e.NonFiniteValues);
        Assert.IsAssignableFrom<InvalidOperationException>(e);
        Assert.Contains("The VAE decoder (float16) produced NaN/Inf", e.Message);
        Assert.Contains("Set-SdVae -Path", e.Message);
        Assert.Contains("madebyollin/sdxl-vae-fp16-fix", e.Message);
        Assert.Contains("float32 VAE", e.Message);
    }

    [Fact]
    public void AFloat16OverflowDecodesAgainInFloat32WhenThereIsAFloat32Decoder()
    {
        var stage = new DecodeStage(Fake(float.PositiveInfinity), "float16", Fake(0.5f));
        var image = Assert.Single(Decode(stage));
        Assert.All(image.Pixels, p => Assert.Equal(0.75f, p)); // 0.5 / 2 + 0.5: the float32 decoder's output

        var stillBad = new DecodeStage(Fake(float.NaN), "float16", Fake(float.NaN));
        Assert.Equal("float32", Assert.Throws<VaeOverflowException>(() => Decode(stillBad)).Precision);
    }

    [Fact]
    public void AFloat32DecoderReturningNaNIsAnErrorToo()
    {
        var e = Assert.Throws<VaeOverflowException>(() => Decode(new DecodeStage(Fake(float.NaN))));
        Assert.Equal("float32", e.Precision);
        Assert.DoesNotContain("fp16-fix", e.Message);
    }

    [Fact]
    public void NonFiniteLatentsAreBlamedOnTheDenoisingNotTheVae()
    {
        var latents = new float[Shape.ImageLength];
        latents[3] = float.NaN;
        var stage = new DecodeStage(Fake(float.NaN), "float16", Fake(0f));
        var e = Assert.Throws<InvalidOperationException>(() => stage.Decode(latents, Shape, 1f, null, null, CancellationToken.None));
        Assert.IsNotType<VaeOverflowException>(e);
        Assert.Contains("latents", e.Message);
    }

    /// <summary>
    /// The fixture's decoder converted to float16, through the pipeline: a VAE swapped in with a tiny scaling_factor
    /// (1e-4) makes the decoder input ~1e4, enough for the float16 VAE's activations to pass 65504. The pipeline decodes
    /// again with the widened float32 decoder, which gives the float32 VAE's image within 5e-3 (measured 6.2e-4; the
    /// weights differ by float16 rounding).
    /// </summary>
    [Fact]
    public void TheConvertedFloat16VaeOverflowsOnHugeLatentsAndThePipelineDecodesAgainInFloat32()
    {
        var folder = Directory.CreateTempSubdirectory("vae-overflow-").FullName;
        try
        {
            var graph = OnnxGraphFile.Load(Path.Combine(Fixtures.TinySd, "vae_decoder", "model.onnx"));
            Float16Converter.Convert(graph, null, "vae_decoder");
            var converted = Path.Combine(folder, "fp16-decoder.onnx");
            graph.Save(converted);
            var float16 = OverflowingVae(folder, "fp16", converted);
            var float32 = OverflowingVae(folder, "fp32", Path.Combine(Fixtures.TinySd, "vae_decoder", "model.onnx"));
            var cpu = new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu };
            var settings = new GenerationSettings { Steps = 2, Width = 64, Height = 64 };
            ImageRequest[] request = [new("a photo of a cat", null, 0, 0)];

            using var pipeline = StableDiffusionPipeline.Load(Fixtures.TinySd, cpu);
            pipeline.ReplaceVae(float16);
            Assert.Equal("float16", pipeline.VaeDecoder.Precision);
            var observer = new DecodeObserver();
            var fallback = pipeline.Generate(request, settings, observer);
            pipeline.ReplaceVae(float32);
            Assert.Equal("float32", pipeline.VaeDecoder.Precision);
            var reference = pipeline.Generate(request, settings);
            try
            {
                // The float16 decoder's own output: NaN/Inf, which the decode stage caught.
                var direct = new DecodeStage((l, s, c) => Float16Decode(converted, l, s, c), "float16");
                Assert.Throws<VaeOverflowException>(() => direct.Decode(observer.Input!, Shape64, 1f, null, null, CancellationToken.None));
                Compare.Close(reference[0].Pixels, fallback[0].Pixels, 5e-3, "float32 fallback of the float16 VAE vs the float32 VAE");
            }
            finally { foreach (var r in fallback.Concat(reference)) r.Dispose(); }
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    private static readonly LatentShape Shape64 = new(1, 4, 8, 8);

    private static (float[] Pixels, int Height, int Width) Float16Decode(string path, float[] latents, LatentShape shape, CancellationToken cancellation)
    {
        using var decoder = new VaeDecoder(new Microsoft.ML.OnnxRuntime.InferenceSession(path), path);
        var pixels = decoder.Decode(latents, shape, out int height, out int width, cancellation);
        return (pixels, height, width);
    }

    /// <summary>Keeps the VAE decoder's input (the latents already divided by the scaling factor).</summary>
    private sealed class DecodeObserver : GenerationObserver
    {
        public float[]? Input { get; private set; }
        public override void OnDecoded(ReadOnlySpan<float> vaeInput, ReadOnlySpan<float> vaeOutput) => Input = vaeInput.ToArray();
    }

    /// <summary>A VAE folder whose decoder is <paramref name="decoder"/> and whose scaling_factor blows the latents up.</summary>
    private static string OverflowingVae(string root, string name, string decoder)
    {
        var vae = Directory.CreateDirectory(Path.Combine(root, name)).FullName;
        File.CreateSymbolicLink(Path.Combine(vae, "model.onnx"), decoder);
        File.WriteAllText(Path.Combine(vae, "config.json"), """{ "scaling_factor": 1e-4 }""");
        return vae;
    }

    private static (float[] Pixels, SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24> Image)[] Decode(DecodeStage stage)
    {
        var results = stage.Decode(new float[Shape.ImageLength], Shape, 1f, null, null, CancellationToken.None);
        foreach (var r in results) r.Image.Dispose();
        return results;
    }

    /// <summary>A decoder returning 16x16 RGB of zeros with <paramref name="first"/> as its first value.</summary>
    private static Func<float[], LatentShape, CancellationToken, (float[] Pixels, int Height, int Width)> Fake(float first) => (_, shape, _) =>
    {
        var pixels = new float[shape.Batch * 3 * 16 * 16];
        if (float.IsFinite(first)) Array.Fill(pixels, first);
        else pixels[0] = first;
        return (pixels, 16, 16);
    };
}
