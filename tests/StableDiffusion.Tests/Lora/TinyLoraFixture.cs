using System.Text.Json;
using StableDiffusion.Graph;
using StableDiffusion.Lora;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Lora;

/// <summary>The tiny-sd graphs indexed once, the tiny-sd-lora files and the diffusers 0.35 LoRA manifest.</summary>
internal static class TinyLoraFixture
{
    private static readonly Lazy<IReadOnlyDictionary<LoraComponent, LoraTargetIndex>> _targets = new(() =>
        new Dictionary<LoraComponent, LoraTargetIndex>
        {
            [LoraComponent.UNet] = new(OnnxGraphFile.Load(Path.Combine(Fixtures.TinySd, "unet", "model.onnx"))),
            [LoraComponent.TextEncoder] = new(OnnxGraphFile.Load(Path.Combine(Fixtures.TinySd, "text_encoder", "model.onnx"))),
        });

    public static IReadOnlyDictionary<LoraComponent, LoraTargetIndex> Targets => _targets.Value;

    public static string LoraPath(string name) => Path.Combine(Fixtures.Root, "tiny-sd-lora", name);

    public static LoraFile Load(string name) => LoraFile.Load(LoraPath(name));

    public static string ExpectedDir => Fixtures.ExpectedPath("lora-diffusers-0.35");

    public static JsonDocument Manifest() => JsonDocument.Parse(File.ReadAllText(Path.Combine(ExpectedDir, "manifest.json")));

    public static LoraComponent ComponentOf(string name) => name switch
    {
        "unet" => LoraComponent.UNet,
        "text_encoder" => LoraComponent.TextEncoder,
        "text_encoder_2" => LoraComponent.TextEncoder2,
        _ => throw new ArgumentException(name),
    };
}
