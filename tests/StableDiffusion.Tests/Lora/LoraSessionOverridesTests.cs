using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Lora;
using static StableDiffusion.Tests.Lora.TinyLoraFixture;

namespace StableDiffusion.Tests.Lora;

/// <summary>Only sessions whose LoRA changes a Conv weight give up ORT_ENABLE_ALL (see OrtLayoutOptimizationIgnoresConvWeightOverrides).</summary>
public sealed class LoraSessionOverridesTests
{
    private static GraphOptimizationLevel LevelWith(LoraComponent component)
    {
        var fused = LoraFuser.Fuse([new LoraWeighting(Load("tiny_lora_a.kohya.fp16.safetensors"), 1f)], Targets, LoraFamily.SingleTextEncoder)
            .Where(f => f.Component == component);
        using var overrides = LoraSessionOverrides.From(fused);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        overrides.ApplyTo(options);
        return options.GraphOptimizationLevel;
    }

    [Fact]
    public void ConvOverridesLowerTheLevelToExtended() => Assert.Equal(GraphOptimizationLevel.ORT_ENABLE_EXTENDED, LevelWith(LoraComponent.UNet));

    [Fact]
    public void MatMulOnlyOverridesKeepEnableAll() => Assert.Equal(GraphOptimizationLevel.ORT_ENABLE_ALL, LevelWith(LoraComponent.TextEncoder));
}
