using System.Text.Json;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.TextualInversion;

/// <summary>The tiny-style embedding files, the textual-inversion manifest, and two tiny-sd pipelines: without and with the embedding.</summary>
public sealed class TinyEmbeddingFixture : IDisposable
{
    public const string ManifestFolder = "textual-inversion-diffusers-0.35";
    public const string Token = "<tiny-style>";

    private readonly Lazy<StableDiffusionPipeline> _plain = new(Load);
    private readonly Lazy<StableDiffusionPipeline> _embedded = new(() =>
    {
        var pipeline = Load();
        pipeline.AddEmbedding(EmbeddingPath("tiny-style.a1111.safetensors"), Token); // as the manifest's load_textual_inversion call
        return pipeline;
    });

    public static string EmbeddingPath(string name) => Path.Combine(Fixtures.Root, "tiny-sd-lora", name);

    public static JsonDocument Manifest() => Fixtures.ReadJson(ManifestFolder, "manifest.json");

    /// <summary>tiny-sd as loaded: no embeddings.</summary>
    public StableDiffusionPipeline Plain => _plain.Value;

    /// <summary>tiny-sd with tiny-style.a1111.safetensors added as '&lt;tiny-style&gt;'.</summary>
    public StableDiffusionPipeline Embedded => _embedded.Value;

    private static StableDiffusionPipeline Load() =>
        StableDiffusionPipeline.Load(Fixtures.TinySd, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });

    public void Dispose()
    {
        if (_plain.IsValueCreated) _plain.Value.Dispose();
        if (_embedded.IsValueCreated) _embedded.Value.Dispose();
    }
}
