using StableDiffusion.Models;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Models;

/// <summary>The two fixture VAE encoders on the CPU, loaded once for a test class: tiny-sd (rewritten) and tiny-sd-inpaint (Optimum ≥ 1.23).</summary>
public sealed class VaeEncoderFixture : IDisposable
{
    private readonly Dictionary<string, VaeEncoder> _encoders = new(StringComparer.Ordinal);

    public SessionFactory Sessions { get; } = new(ExecutionProvider.Cpu);

    public static string TinySdInpaint => Path.Combine(Fixtures.Root, "tiny-sd-inpaint");

    /// <summary>The encoder of the model folder <paramref name="folder"/> (vae_encoder/model.onnx), loaded through <see cref="VaeEncoder.Load"/>.</summary>
    public VaeEncoder For(string folder)
    {
        string path = Path.GetFullPath(Path.Combine(folder, "vae_encoder", "model.onnx"));
        if (!_encoders.TryGetValue(path, out var encoder))
            _encoders[path] = encoder = VaeEncoder.Load(Sessions, path);
        return encoder;
    }

    public void Dispose()
    {
        foreach (var encoder in _encoders.Values) encoder.Dispose();
    }
}
