using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;
using StableDiffusion.Lora;
using StableDiffusion.Tests.Support;
using static StableDiffusion.Tests.Lora.TinyLoraFixture;

namespace StableDiffusion.Tests.Lora;

/// <summary>Fused weights against diffusers 0.35.2 + PEFT's fuse_lora (expected/lora-diffusers-0.35/fused_weights).</summary>
public class LoraFusionTests
{
    private static LoraWeighting[] Scenario(string id, string aFile = "tiny_lora_a.kohya.fp16.safetensors") => id switch
    {
        "a_scale1" => [new(Load(aFile), 1f)],
        "a_scale05" => [new(Load(aFile), 0.5f)],
        "ab_1_08" => [new(Load(aFile), 1f), new(Load("tiny_lora_b.kohya.fp16.safetensors"), 0.8f)],
        _ => throw new ArgumentException(id),
    };

    // The fused value in torch layout (MatMul initializers hold W^T).
    private static float[] TorchLayout(FusedInitializer fused, LoraTarget target)
    {
        var values = fused.ToFloats();
        if (target.Layout == WeightLayout.Torch) return values;
        int rows = (int)target.Dims[0], cols = (int)target.Dims[1];
        var t = new float[values.Length];
        for (int i = 0; i < rows; i++)
            for (int o = 0; o < cols; o++) t[o * rows + i] = values[i * cols + o];
        return t;
    }

    [Theory]
    [InlineData("a_scale1")]
    [InlineData("a_scale05")]
    [InlineData("ab_1_08")]
    public void FusedWeightsMatchDiffusers(string scenario)
    {
        using var manifest = Manifest();
        var fused = LoraFuser.Fuse(Scenario(scenario), Targets, LoraFamily.SingleTextEncoder);
        var layers = manifest.RootElement.GetProperty("fused_weights").GetProperty("scenarios").GetProperty(scenario).GetProperty("layers");
        int n = 0;
        foreach (var layer in layers.EnumerateArray())
        {
            var component = ComponentOf(layer.GetProperty("component").GetString()!);
            var module = layer.GetProperty("module").GetString()!;
            var target = Targets[component].Resolve(module)!;
            var mine = Assert.Single(fused, f => f.Component == component && f.Name == target.InitializerName);
            var expected = Fixtures.ReadF32(Path.Combine(ExpectedDir, layer.GetProperty("files").GetProperty("fused").GetProperty("file").GetString()!));
            Compare.Close(expected, TorchLayout(mine, target), 1e-6, $"{scenario} {module}", rtol: 1e-6);
            n++;
        }
        Assert.Equal(7, n);
        // One fused initializer per changed module: 76 UNet + 18 text encoder for a, plus b's extra conv.
        Assert.Equal(scenario == "ab_1_08" ? 95 : 94, fused.Count);
    }

    [Fact]
    public void Fp32AndPeftFilesFuseBitIdenticallyToTheFp16File()
    {
        var reference = LoraFuser.Fuse(Scenario("a_scale1"), Targets, LoraFamily.SingleTextEncoder).ToDictionary(f => (f.Component, f.Name));
        foreach (var other in new[] { "tiny_lora_a.kohya.fp32.safetensors", "tiny_lora_a.peft.safetensors" })
        {
            var fused = LoraFuser.Fuse(Scenario("a_scale1", other), Targets, LoraFamily.SingleTextEncoder);
            Assert.Equal(reference.Count, fused.Count);
            foreach (var f in fused) Assert.Equal(reference[(f.Component, f.Name)].Data, f.Data);
        }
    }

    [Fact]
    public void WeightZeroLeavesTheWeightsAsTheyAre()
    {
        var fused = LoraFuser.Fuse(Scenario("a_scale05").Select(w => w with { Weight = 0f }).ToArray(), Targets, LoraFamily.SingleTextEncoder);
        foreach (var f in fused)
        {
            var graph = Targets[f.Component].Graph;
            Assert.Equal(graph.GetTensorBytes(graph.Initializer(f.Name)!).ToArray(), f.Data);
        }
    }

    [Fact]
    public void Float16ModelGetsFloat16WeightsComputedInFloat32()
    {
        // The text encoder with one weight stored as float16: the fused value is the float32 fusion of the widened
        // weight, rounded once to float16.
        var graph = OnnxGraphFile.Load(Path.Combine(Fixtures.TinySd, "text_encoder", "model.onnx"));
        var lora = Load("tiny_lora_a.kohya.fp32.safetensors");
        var module = lora.Modules.Single(m => m.ModulePath == "text_model.encoder.layers.1.mlp.fc1");
        var name = new LoraTargetIndex(graph).Resolve(module)!.InitializerName;
        var tensor = graph.Initializer(name)!;
        var original = TensorData.ToFloats(tensor);
        var halves = original.Select(v => (Half)v).ToArray();
        tensor.DataType = (int)TensorProto.Types.DataType.Float16;
        tensor.RawData = Google.Protobuf.ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(halves.AsSpan()));
        tensor.FloatData.Clear();
        graph.InvalidateIndex();

        var targets = new Dictionary<LoraComponent, LoraTargetIndex> { [LoraComponent.TextEncoder] = new(graph) };
        var onlyFc1 = new[] { new LoraWeighting(lora, 1f) };
        // Only this module's target is float16; fuse the whole LoRA and pick it out.
        var fused = LoraFuser.Fuse(onlyFc1, Targets.Where(t => t.Key == LoraComponent.UNet).Concat(targets).ToDictionary(), LoraFamily.SingleTextEncoder)
            .Single(f => f.Component == LoraComponent.TextEncoder && f.Name == name);
        Assert.Equal(TensorProto.Types.DataType.Float16, fused.ElementType);
        Assert.Equal(halves.Length * 2, fused.Data.Length);

        // Expected: diffusers' delta for this layer (a_scale1) added to the widened float16 weight in float32, then rounded.
        var delta = Fixtures.ReadF32(Path.Combine(ExpectedDir, "fused_weights", "a_scale1", "text_encoder.text_model.encoder.layers.1.mlp.fc1.delta.f32"));
        int inF = 32, outF = 64;
        var actual = fused.ToFloats();
        for (int i = 0; i < inF; i++)
            for (int o = 0; o < outF; o++)
            {
                float expected = (float)(Half)((float)halves[i * outF + o] + delta[o * inF + i]);
                // One float16 step of slack for a delta that differs from diffusers' by rounding.
                Assert.True(Math.Abs(actual[i * outF + o] - expected) <= Math.Abs(expected) * 1e-3 + 1e-7, $"[{i},{o}] {actual[i * outF + o]} vs {expected}");
            }
    }
}
