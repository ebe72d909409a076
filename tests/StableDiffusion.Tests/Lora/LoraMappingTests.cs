using StableDiffusion.Lora;
using static StableDiffusion.Tests.Lora.TinyLoraFixture;

namespace StableDiffusion.Tests.Lora;

/// <summary>The module → ONNX initializer mapping derived from the graphs, against the manifest's table (built by value).</summary>
public class LoraMappingTests
{
    [Fact]
    public void EveryManifestModuleMapsToItsInitializerLayoutAndConsumers()
    {
        using var manifest = Manifest();
        var files = new Dictionary<string, LoraFile>
        {
            ["a"] = Load("tiny_lora_a.kohya.fp16.safetensors"),
            ["b"] = Load("tiny_lora_b.kohya.fp16.safetensors"),
        };
        int checkedCount = 0;
        foreach (var entry in manifest.RootElement.GetProperty("mapping").EnumerateArray())
        {
            var lora = files[entry.GetProperty("lora").GetString()!];
            var kohyaKey = entry.GetProperty("kohya_key").GetString()!;
            var module = Assert.Single(lora.Modules, m => m.SourceName == kohyaKey);
            Assert.Equal(ComponentOf(entry.GetProperty("component").GetString()!), module.Component);
            Assert.Equal(entry.GetProperty("module").GetString(), module.ModulePath);
            Assert.Equal(entry.GetProperty("kohya_tensors").EnumerateArray().Select(t => t.GetString()!).Order(), module.Keys.Order());

            var target = Targets[module.Component].Resolve(module);
            Assert.NotNull(target);
            Assert.Equal(entry.GetProperty("onnx_initializer").GetString(), target.InitializerName);
            Assert.Equal(entry.GetProperty("onnx_initializer_shape").EnumerateArray().Select(d => d.GetInt64()), target.Dims);
            var layout = entry.GetProperty("onnx_layout").GetString()!;
            Assert.Equal(layout.StartsWith("transposed") ? WeightLayout.TransposedLinear : WeightLayout.Torch, target.Layout);
            Assert.Equal(entry.GetProperty("weight_shape").EnumerateArray().Select(d => d.GetInt64()), target.TorchShape);
            Assert.Equal(entry.GetProperty("onnx_consumers").EnumerateArray().Select(c => c.GetProperty("name").GetString()!), target.ConsumerNodes);
            checkedCount++;
        }
        Assert.Equal(94 + 61, checkedCount);
    }

    [Fact]
    public void PeftFileNamesTheSameModulesAsTheKohyaFile()
    {
        using var manifest = Manifest();
        var peft = Load("tiny_lora_a.peft.safetensors");
        var expected = manifest.RootElement.GetProperty("mapping").EnumerateArray()
            .Where(e => e.GetProperty("lora").GetString() == "a")
            .Select(e => (ComponentOf(e.GetProperty("component").GetString()!), e.GetProperty("module").GetString()!,
                string.Join(",", e.GetProperty("peft_tensors").EnumerateArray().Select(t => t.GetString()).Order())))
            .Order().ToList();
        var actual = peft.Modules.Select(m => (m.Component, m.ModulePath, string.Join(",", m.Keys.Order()))).Order().ToList();
        Assert.Equal(expected, actual);
        // alpha 2 and rank 4 from lora_adapter_metadata (the file has no alpha tensors).
        Assert.All(peft.Modules, m => Assert.Equal(0.5f, m.Scale));
        Assert.Empty(peft.UnknownKeys);
    }

    [Theory]
    [InlineData("tiny_lora_a.kohya.fp16.safetensors", 94)]
    [InlineData("tiny_lora_a.kohya.fp32.safetensors", 94)]
    [InlineData("tiny_lora_a.peft.safetensors", 94)]
    [InlineData("tiny_lora_b.kohya.fp16.safetensors", 61)]
    [InlineData("tiny_lora_b.kohya.fp32.safetensors", 61)]
    public void EveryFixtureLoraParsesToItsModuleCount(string name, int modules)
    {
        var lora = Load(name);
        Assert.Equal(modules, lora.Modules.Count);
        Assert.Empty(lora.UnknownKeys);
        Assert.All(lora.Modules, m => Assert.Equal(LoraModuleKind.Lora, m.Kind));
    }

    [Fact]
    public void KohyaFp16Fp32AndPeftGiveTheSameModules()
    {
        static List<(LoraComponent, string)> Names(LoraFile f) => f.Modules.Select(m => (m.Component, m.ModulePath)).Order().ToList();
        var fp16 = Load("tiny_lora_a.kohya.fp16.safetensors");
        Assert.Equal(Names(fp16), Names(Load("tiny_lora_a.kohya.fp32.safetensors")));
        Assert.Equal(Names(fp16), Names(Load("tiny_lora_a.peft.safetensors")));
    }

    [Fact]
    public void TextualInversionFileIsNoLoraAndItsKeyIsReportedUnmapped()
    {
        // tiny-style.a1111.safetensors is an A1111 textual-inversion embedding (emb_params), not a LoRA.
        var ti = Load("tiny-style.a1111.safetensors");
        Assert.Empty(ti.Modules);
        Assert.Equal(["emb_params"], ti.UnknownKeys);
        var e = Assert.Throws<LoraMappingException>(() => LoraFuser.Fuse([new LoraWeighting(ti, 1f)], Targets, LoraFamily.SingleTextEncoder));
        Assert.Equal(["emb_params"], e.Keys);
        Assert.Contains("emb_params", e.Message);
    }
}
