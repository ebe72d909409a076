using StableDiffusion.Graph;
using StableDiffusion.Lora;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Pipeline;
using StableDiffusion.Tests.Support;
using StableDiffusion.Weights;
using static StableDiffusion.Tests.Lora.TinyLoraFixture;

namespace StableDiffusion.Tests.Lora;

/// <summary>
/// The pipeline's LoRA set against diffusers 0.35 (expected/lora-diffusers-0.35): fused into the sessions as
/// initializer overrides, the four cases match diffusers' fuse_lora pipeline (README tolerances: text embeddings 1e-5,
/// noise exact, latents 1e-3, image 1e-4, PNG 1 level). Each test loads its own pipeline: the set is pipeline state.
/// </summary>
public sealed class LoraPipelineTests
{
    private const string Manifest = "lora-diffusers-0.35";

    public static TheoryData<string> Cases() => PipelineCase.Ids(Manifest);

    private static StableDiffusionPipeline Load(PipelineOptions? options = null) =>
        StableDiffusionPipeline.Load(Fixtures.TinySd, options ?? new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });

    /// <summary>The LoRAs of a case, as its manifest lists them (file and weight).</summary>
    private static List<LoraEntry> LorasOf(PipelineCase c) => c.Raw.GetProperty("lora").EnumerateArray()
        .Select(l => LoraEntry.Load(Path.Combine(Fixtures.Root, l.GetProperty("file").GetString()!), (float)l.GetProperty("weight").GetDouble()))
        .ToList();

    private static PipelineCase Find(string id) => PipelineCase.Load(Manifest).Single(c => c.Id == id);

    [Fact]
    public void ManifestHoldsTheFourCases() =>
        Assert.Equal(["lora_a_scale05", "lora_a_scale1", "lora_ab_1_08", "no_lora"], PipelineCase.Load(Manifest).Select(c => c.Id).Order());

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesDiffusersFuseLora(string id)
    {
        var c = Find(id);
        using var pipeline = Load();
        pipeline.SetLoras(LorasOf(c));
        CheckCase(pipeline, c);
    }

    /// <summary>The sessions rebuilt one after another on one pipeline: a, then a + b, then a at 0.5, then none.</summary>
    [Fact]
    public void ChangingTheSetOnOnePipelineMatchesEachCase()
    {
        using var pipeline = Load();
        foreach (var id in new[] { "lora_a_scale1", "lora_ab_1_08", "lora_a_scale05", "no_lora" })
        {
            var c = Find(id);
            pipeline.SetLoras(LorasOf(c));
            CheckCase(pipeline, c, intermediates: false);
        }
    }

    [Fact]
    public void AttentionSlicingComposesWithLora()
    {
        var c = Find("lora_ab_1_08");
        using var pipeline = Load();
        pipeline.SetLoras(LorasOf(c));
        Assert.True(pipeline.EnableAttentionSlicing(AttentionSliceSize.Max).Changed);
        CheckCase(pipeline, c, intermediates: false);
        pipeline.DisableAttentionSlicing();
        pipeline.EnableAttentionSlicing(AttentionSliceSize.Max); // slicing first, LoRA second
        pipeline.ClearLoras();
        pipeline.SetLoras(LorasOf(c));
        CheckCase(pipeline, c, intermediates: false);
    }

    [Fact]
    public void FixedShapeUNetSessionsGetTheLora()
    {
        var c = Find("lora_a_scale1");
        using var pipeline = Load(new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, UNetFixedShapes = true, UNetSharedWeights = true });
        pipeline.SetLoras(LorasOf(c));
        CheckCase(pipeline, c, intermediates: false);
    }

    [Fact]
    public void OnlyTheComponentsWhoseWeightsChangeAreRebuilt()
    {
        using var pipeline = Load();
        var a = LoraEntry.Load(LoraPath("tiny_lora_a.kohya.fp16.safetensors"));
        pipeline.AddLora(a);
        var (unet, text) = (pipeline.UNet, pipeline.TextEncoder);

        pipeline.SetLoras([a.WithWeights(0.5f, 1f)]); // the UNet's weight only
        Assert.NotSame(unet, pipeline.UNet);
        Assert.Same(text, pipeline.TextEncoder);

        unet = pipeline.UNet;
        pipeline.SetLoras([a.WithWeights(0.5f, 0.25f)]); // the text encoder's only
        Assert.Same(unet, pipeline.UNet);
        Assert.NotSame(text, pipeline.TextEncoder);

        text = pipeline.TextEncoder;
        pipeline.SetLoras([a.WithWeights(0.5f, 0.25f)]); // nothing
        Assert.Same(unet, pipeline.UNet);
        Assert.Same(text, pipeline.TextEncoder);
    }

    [Fact]
    public void TextEncoderWeightScalesOnlyTheTextEncoder()
    {
        // a at 1.0 on the text encoder and 0.5 on the UNet: the embeddings are lora_a_scale1's.
        var c = Find("lora_a_scale1");
        using var pipeline = Load();
        pipeline.AddLora(LoraEntry.Load(LoraPath("tiny_lora_a.kohya.fp16.safetensors"), 0.5f, 1f));
        var observer = new RecordingObserver();
        var results = pipeline.Generate(c.Requests, c.Settings with { Steps = 1 }, observer);
        foreach (var r in results) r.Dispose();
        Compare.Close(c.F32("text_embeddings_cond"), observer.Cond, 1e-5, "text embeddings with the text encoder at 1.0");
    }

    [Fact]
    public void AddRemoveAndClearKeepTheOrderAndNames()
    {
        using var pipeline = Load();
        pipeline.AddLora(LoraEntry.Load(LoraPath("tiny_lora_a.kohya.fp16.safetensors")));
        pipeline.AddLora(LoraEntry.Load(LoraPath("tiny_lora_b.kohya.fp16.safetensors"), 0.8f));
        Assert.Equal(["tiny_lora_a.kohya.fp16", "tiny_lora_b.kohya.fp16"], pipeline.Loras.Select(l => l.Name));
        Assert.Equal(0.8f, pipeline.Loras[1].TextEncoderWeight);
        Assert.Throws<ArgumentException>(() => pipeline.AddLora(LoraEntry.Load(LoraPath("tiny_lora_a.kohya.fp16.safetensors"))));
        Assert.True(pipeline.RemoveLora("TINY_LORA_A.kohya.fp16"));
        Assert.False(pipeline.RemoveLora("tiny_lora_a.kohya.fp16"));
        Assert.Equal(["tiny_lora_b.kohya.fp16"], pipeline.Loras.Select(l => l.Name));
        pipeline.ClearLoras();
        Assert.Empty(pipeline.Loras);
    }

    [Fact]
    public void UnmappedKeysAreRefusedWithTheKeysAndLeaveTheSet()
    {
        var path = SafetensorsBuilder.WriteTemp(SafetensorsBuilder.Build([
            SafetensorsBuilder.F32("lora_unet_no_such_block_proj.lora_down.weight", [1, 32], new float[32]),
            SafetensorsBuilder.F32("lora_unet_no_such_block_proj.lora_up.weight", [32, 1], new float[32]),
        ]));
        using var pipeline = Load();
        var a = pipeline.AddLora(LoraEntry.Load(LoraPath("tiny_lora_a.kohya.fp16.safetensors")));
        var unet = pipeline.UNet;
        var e = Assert.Throws<LoraMappingException>(() => pipeline.AddLora(LoraEntry.Load(path)));
        Assert.Contains("lora_unet_no_such_block_proj.lora_down.weight", e.Keys);
        Assert.Contains("lora_unet_no_such_block_proj.lora_down.weight", e.Message);
        Assert.Equal([a], pipeline.Loras);
        Assert.Same(unet, pipeline.UNet);
    }

    [Fact]
    public void AnSdxlLoraIsRefusedByFamily()
    {
        var path = SafetensorsBuilder.WriteTemp(SafetensorsBuilder.Build([
            SafetensorsBuilder.F32("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", [1, 32], new float[32]),
            SafetensorsBuilder.F32("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", [64, 1], new float[64]),
        ]));
        using var pipeline = Load();
        var e = Assert.Throws<LoraMappingException>(() => pipeline.AddLora(LoraEntry.Load(path)));
        Assert.Contains("SDXL", e.Message);
        Assert.Empty(pipeline.Loras);
    }

    [Fact]
    public void NonFiniteLorasAndWeightsAreRefusedOnLoad()
    {
        var values = new float[32];
        values[3] = float.NaN;
        var path = SafetensorsBuilder.WriteTemp(SafetensorsBuilder.Build([
            SafetensorsBuilder.F32("lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", [1, 32], values),
            SafetensorsBuilder.F32("lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", [64, 1], new float[64]),
        ]));
        var e = Assert.Throws<LoraFormatException>(() => LoraEntry.Load(path));
        Assert.Contains("NaN", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => LoraEntry.Load(LoraPath("tiny_lora_a.kohya.fp16.safetensors"), float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => LoraEntry.Load(LoraPath("tiny_lora_a.kohya.fp16.safetensors"), 1f, float.PositiveInfinity));
    }

    [Fact]
    public void PickleFilesAreNeverOpened()
    {
        var path = SafetensorsBuilder.WriteTemp([0x80, 0x02], ".ckpt");
        Assert.Throws<UnsupportedWeightsFormatException>(() => LoraEntry.Load(path));
    }

    private static void CheckCase(StableDiffusionPipeline pipeline, PipelineCase c, bool intermediates = true)
    {
        var observer = new RecordingObserver();
        var results = pipeline.Generate(c.Requests, c.Settings, observer);
        try
        {
            if (intermediates)
            {
                Compare.Close(c.F32("text_embeddings_cond"), observer.Cond, 1e-5, $"{c.Id} text embeddings (cond)");
                Compare.Close(c.F32("text_embeddings_uncond"), observer.Uncond, 1e-5, $"{c.Id} text embeddings (uncond)");
                Assert.Equal(c.F32("initial_noise"), observer.InitialNoise);
                LoopAssert.LatentsAfterEachStep(c.F32("latents_after_step"), observer.Latents, c.Id);
                Compare.Close(c.F32("final_latents"), observer.Latents[^1], 1e-3, $"{c.Id} final latents", rtol: 1e-4);
            }
            Compare.Close(c.F32("image"), results[0].Pixels, 1e-4, $"{c.Id} image");
            Compare.Png(c.PngPath(0), results[0].Image, 1, $"{c.Id} PNG");
        }
        finally
        {
            foreach (var r in results) r.Dispose();
        }
    }
}

/// <summary>A float16 conversion of tiny-sd (ConvertTo-SdFloat16's converter), made once for the float16 LoRA tests.</summary>
public sealed class Float16TinySdFixture : IDisposable
{
    public Float16TinySdFixture()
    {
        Folder = Path.Combine(Path.GetTempPath(), "sd-lora-fp16-" + Guid.NewGuid().ToString("N"));
        StableDiffusion.Conversion.Float16FolderConverter.Convert(Fixtures.TinySd, Folder);
    }

    public string Folder { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

/// <summary>Float16 models get their fused weights in float16 (computed in float32), and the LoRA shows in their images.</summary>
public sealed class LoraFloat16PipelineTests(Float16TinySdFixture fp16) : IClassFixture<Float16TinySdFixture>
{
    [Fact]
    public void Float16GraphsGetFloat16FusedWeightsThatMatchTheFloat32Fusion()
    {
        var unet = new LoraTargetIndex(OnnxGraphFile.Load(Path.Combine(fp16.Folder, "unet", "model.onnx")));
        var text = new LoraTargetIndex(OnnxGraphFile.Load(Path.Combine(fp16.Folder, "text_encoder", "model.onnx")));
        var fused = LoraFuser.Fuse([new LoraWeighting(Load("tiny_lora_a.kohya.fp16.safetensors"), 1f)],
            new Dictionary<LoraComponent, LoraTargetIndex> { [LoraComponent.UNet] = unet, [LoraComponent.TextEncoder] = text },
            LoraFamily.SingleTextEncoder);
        Assert.Equal(94, fused.Count);
        Assert.All(fused, f => Assert.Equal(StableDiffusion.Graph.Onnx.TensorProto.Types.DataType.Float16, f.ElementType));
        // diffusers' fused conv1 [32, 96, 3, 3] (torch layout = the Conv initializer's): float16 of the float32 fusion, to
        // float16's half-ulp (2^-11 relative), plus the rounding of the float16 base weight it was fused onto.
        var expected = Fixtures.ReadF32(Path.Combine(ExpectedDir, "fused_weights", "a_scale1", "unet.up_blocks.1.resnets.0.conv1.fused.f32"));
        var conv = fused.Single(f => f.Name == "up_blocks.1.resnets.0.conv1.weight").ToFloats();
        Assert.Equal(expected.Length, conv.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - conv[i]) <= Math.Abs(expected[i]) * 1e-3 + 1e-4, $"conv1[{i}]: {conv[i]} vs {expected[i]}");
    }

    [Fact]
    public void Float16PipelineWithLoraIsAsCloseToDiffusersAsWithout()
    {
        // A float16 tiny model drifts from diffusers' float32 results with or without a LoRA (its image by 0.2 over 20
        // steps), so the first UNet call is compared, as far from its reference with LoRA a (text encoder and UNet) as the
        // float16 model without LoRA is from its own, and far from the call without LoRA.
        var cases = PipelineCase.Load("lora-diffusers-0.35");
        var withLora = cases.Single(x => x.Id == "lora_a_scale1");
        var without = cases.Single(x => x.Id == "no_lora");
        using var pipeline = StableDiffusionPipeline.Load(fp16.Folder, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        float[] FirstCall(PipelineCase c)
        {
            var observer = new RecordingObserver();
            foreach (var r in pipeline.Generate(c.Requests, c.Settings with { Steps = 1 }, observer)) r.Dispose();
            return observer.UNetOutputs[0];
        }
        double Distance(PipelineCase c, float[] call) => Compare.MaxAbs(c.F32("unet_output").AsSpan(0, call.Length).ToArray(), call);

        var plainError = Distance(without, FirstCall(without));
        pipeline.AddLora(LoraEntry.Load(LoraPath("tiny_lora_a.kohya.fp16.safetensors")));
        var call = FirstCall(withLora);
        var loraError = Distance(withLora, call);
        var toPlain = Distance(without, call);
        Assert.True(loraError <= 2 * plainError && loraError < toPlain / 3,
            $"float16 first UNet call: {loraError} from diffusers' with LoRA a, {plainError} without LoRA from its own, {toPlain} from the call without LoRA");
    }
}
