using StableDiffusion.Lora;
using static StableDiffusion.Tests.Lora.SafetensorsBuilder;
using static StableDiffusion.Tests.Lora.TinyLoraFixture;

namespace StableDiffusion.Tests.Lora;

/// <summary>LoRA files written in the test: hostile content, other families, key formats the fixtures lack.</summary>
public class LoraFileTests
{
    private const string ToQ = "down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"; // [32, 32] in tiny-sd

    private static float[] Ramp(int n, float step) => Enumerable.Range(0, n).Select(i => (i % 7 - 3) * step).ToArray();

    private static Entry[] KohyaModule(string stem, int outF, int inF, int rank, float alpha = 1f) =>
    [
        F32(stem + ".lora_down.weight", [rank, inF], Ramp(rank * inF, 0.01f)),
        F32(stem + ".lora_up.weight", [outF, rank], Ramp(outF * rank, 0.02f)),
        F32(stem + ".alpha", [], alpha),
    ];

    private static LoraFile Write(IEnumerable<Entry> entries, IDictionary<string, string>? metadata = null) =>
        LoraFile.Load(WriteTemp(Build(entries, metadata)));

    private static IReadOnlyList<FusedInitializer> Fuse(LoraFile lora, float weight = 1f) =>
        LoraFuser.Fuse([new LoraWeighting(lora, weight)], Targets, LoraFamily.SingleTextEncoder);

    [Fact]
    public void NaNWeightsAreRefused()
    {
        var entries = KohyaModule("lora_unet_" + ToQ, 32, 32, 2);
        entries[0].Data[4..8].AsSpan().Clear();
        BitConverter.GetBytes(float.NaN).CopyTo(entries[0].Data, 4);
        var e = Assert.Throws<LoraFormatException>(() => Write(entries));
        Assert.Equal("lora_unet_" + ToQ + ".lora_down.weight", e.Key);
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void InfiniteAlphaIsRefused()
    {
        var entries = KohyaModule("lora_unet_" + ToQ, 32, 32, 2, float.PositiveInfinity);
        Assert.Throws<LoraFormatException>(() => Write(entries));
    }

    [Fact]
    public void KeysThatMapToNothingAreListed()
    {
        var lora = Write([.. KohyaModule("lora_unet_" + ToQ, 32, 32, 2), .. KohyaModule("lora_unet_down_blocks_7_no_such_layer", 4, 4, 1)]);
        var e = Assert.Throws<LoraMappingException>(() => Fuse(lora));
        Assert.Equal(
            ["lora_unet_down_blocks_7_no_such_layer.alpha", "lora_unet_down_blocks_7_no_such_layer.lora_down.weight", "lora_unet_down_blocks_7_no_such_layer.lora_up.weight"],
            e.Keys.Order());
        Assert.Contains("lora_unet_down_blocks_7_no_such_layer.lora_up.weight", e.Message);
    }

    [Fact]
    public void SdxlLoraOnAnSd1ModelIsRefusedByName()
    {
        var lora = Write(KohyaModule("lora_te1_text_model_encoder_layers_0_mlp_fc1", 64, 32, 2));
        Assert.Equal(LoraFamily.Sdxl, lora.Family);
        var e = Assert.Throws<LoraMappingException>(() => Fuse(lora));
        Assert.Contains("SDXL", e.Message);
        Assert.Contains("SD 1.x", e.Message);
    }

    [Fact]
    public void Sd1LoraOnAnSdxlModelIsRefusedByName()
    {
        var lora = Load("tiny_lora_a.kohya.fp16.safetensors");
        Assert.Equal(LoraFamily.SingleTextEncoder, lora.Family);
        var e = Assert.Throws<LoraMappingException>(() => LoraFuser.Fuse([new LoraWeighting(lora, 1f)], Targets, StableDiffusion.Models.ModelFamily.StableDiffusionXL));
        Assert.Contains("is made for SD 1.x/2.x", e.Message);
    }

    [Fact]
    public void Te2KeysGoToTheSecondTextEncoder()
    {
        var lora = Write(KohyaModule("lora_te2_text_model_encoder_layers_0_self_attn_out_proj", 32, 32, 2));
        var module = Assert.Single(lora.Modules);
        Assert.Equal(LoraComponent.TextEncoder2, module.Component);
        Assert.Equal("text_model.encoder.layers.0.self_attn.out_proj", module.ModulePath);
    }

    [Fact]
    public void ShapeMismatchSaysTheLoraIsForAnotherModel()
    {
        var lora = Write(KohyaModule("lora_unet_" + ToQ, 32, 16, 2));
        var e = Assert.Throws<LoraFormatException>(() => Fuse(lora));
        Assert.Contains("[32, 16]", e.Message);
        Assert.Contains("another model", e.Message);
    }

    [Fact]
    public void MissingUpFactorIsNamed()
    {
        var entries = KohyaModule("lora_unet_" + ToQ, 32, 32, 2);
        var e = Assert.Throws<LoraFormatException>(() => Write([entries[0], entries[2]]));
        Assert.Contains("'up'", e.Message);
    }

    [Fact]
    public void IntegerFactorIsRefused()
    {
        var e = Assert.Throws<LoraFormatException>(() => Write([new Entry("lora_unet_" + ToQ + ".lora_down.weight", "I64", [1], new byte[8])]));
        Assert.Contains("I64", e.Message);
    }

    [Fact]
    public void SgmNamesFuseIntoTheSameInitializerAsDiffusersNames()
    {
        // input_blocks.1.1 is down_blocks.0.attentions.0 (layers_per_block 2); its to_q is onnx::MatMul_3637 (fixture README).
        var sgm = Fuse(Write(KohyaModule("lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q", 32, 32, 2, 3f)));
        var diffusers = Fuse(Write(KohyaModule("lora_unet_" + ToQ, 32, 32, 2, 3f)));
        var a = Assert.Single(sgm);
        var b = Assert.Single(diffusers);
        Assert.Equal("onnx::MatMul_3637", a.Name);
        Assert.Equal(b.Name, a.Name);
        Assert.Equal(b.Data, a.Data);
    }

    [Fact]
    public void PeftWithoutMetadataHasScaleOne()
    {
        var lora = Write(
        [
            F32("unet." + LoraKeyNames.ToModulePath(ToQ) + ".lora_A.weight", [2, 32], Ramp(64, 0.01f)),
            F32("unet." + LoraKeyNames.ToModulePath(ToQ) + ".lora_B.weight", [32, 2], Ramp(64, 0.01f)),
        ]);
        var module = Assert.Single(lora.Modules);
        Assert.Null(module.Alpha);
        Assert.Equal(1f, module.Scale);
    }

    [Fact]
    public void PeftAlphaPatternOverridesLoraAlpha()
    {
        var path = LoraKeyNames.ToModulePath(ToQ);
        var metadata = new Dictionary<string, string>
        {
            ["lora_adapter_metadata"] = """{"unet.lora_alpha": 2.0, "unet.r": 2, "unet.alpha_pattern": {"attn1.to_q": 6.0}}""",
        };
        var lora = Write(
        [
            F32("unet." + path + ".lora_A.weight", [2, 32], Ramp(64, 0.01f)),
            F32("unet." + path + ".lora_B.weight", [32, 2], Ramp(64, 0.01f)),
            F32("unet." + path.Replace("to_q", "to_k") + ".lora_A.weight", [2, 32], Ramp(64, 0.01f)),
            F32("unet." + path.Replace("to_q", "to_k") + ".lora_B.weight", [32, 2], Ramp(64, 0.01f)),
        ], metadata);
        Assert.Equal(3f, lora.Modules.Single(m => m.ModulePath.EndsWith("to_q")).Scale);
        Assert.Equal(1f, lora.Modules.Single(m => m.ModulePath.EndsWith("to_k")).Scale);
    }

    [Fact]
    public void LoHaAndLoKrModulesFuseIntoTheModel()
    {
        var stem = "lora_unet_" + ToQ;
        var loha = Write(
        [
            F32(stem + ".hada_w1_a", [32, 2], Ramp(64, 0.01f)), F32(stem + ".hada_w1_b", [2, 32], Ramp(64, 0.02f)),
            F32(stem + ".hada_w2_a", [32, 2], Ramp(64, 0.03f)), F32(stem + ".hada_w2_b", [2, 32], Ramp(64, 0.01f)),
            F32(stem + ".alpha", [], 1f),
        ]);
        Assert.Equal(LoraModuleKind.LoHa, Assert.Single(loha.Modules).Kind);
        Assert.Equal("onnx::MatMul_3637", Assert.Single(Fuse(loha)).Name);
        var lokr = Write([F32(stem + ".lokr_w1", [4, 4], Ramp(16, 0.1f)), F32(stem + ".lokr_w2", [8, 8], Ramp(64, 0.01f))]);
        Assert.Equal(LoraModuleKind.LoKr, Assert.Single(lokr.Modules).Kind);
        Assert.Equal("onnx::MatMul_3637", Assert.Single(Fuse(lokr)).Name);
    }

    [Fact]
    public void IntegerBookkeepingTensorsAreSkippedCleanly()
    {
        var lora = Write([.. KohyaModule("lora_unet_" + ToQ, 32, 32, 2), new Entry("ss_global_step", "I64", [], BitConverter.GetBytes(1200L))]);
        Assert.Equal(["ss_global_step"], lora.SkippedKeys);
        Assert.Empty(lora.UnknownKeys);
        Assert.Single(Fuse(lora));
    }

    [Fact]
    public void MixedFactorKindsAreRefused()
    {
        var stem = "lora_unet_" + ToQ;
        var e = Assert.Throws<LoraFormatException>(() => Write([.. KohyaModule(stem, 32, 32, 2), F32(stem + ".lokr_w1", [1, 1], 1f)]));
        Assert.Contains("mixes", e.Message);
    }
}
