using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>
/// The two pipelines the A1111 pipeline cases name: tiny-sd as it is ('tiny') and tiny-sd with the fixture's
/// ln_affine text encoder ('ln_affine'), laid out as a model folder of links to the read-only fixture files.
/// </summary>
public sealed class A1111PipelineFixture : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"sd-a1111-ln-{Guid.NewGuid():N}");
    private readonly Lazy<StableDiffusionPipeline> _tiny = new(() => Load(Fixtures.TinySd));
    private readonly Lazy<StableDiffusionPipeline> _lnAffine;

    public A1111PipelineFixture()
    {
        _lnAffine = new(() => Load(LnAffineFolder()));
    }

    public StableDiffusionPipeline For(string textEncoder) => textEncoder switch
    {
        "tiny" => _tiny.Value,
        "ln_affine" => _lnAffine.Value,
        _ => throw new ArgumentException($"Unknown text encoder '{textEncoder}' in the manifest.", nameof(textEncoder)),
    };

    private static StableDiffusionPipeline Load(string folder) =>
        StableDiffusionPipeline.Load(folder, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });

    private string LnAffineFolder()
    {
        string encoder = Fixtures.ExpectedPath("prompts-a1111", "text_encoder_ln_affine", "model.onnx");
        if (!File.Exists(encoder)) throw new FileNotFoundException("The fixture's ln_affine text encoder is missing.", encoder);
        Directory.CreateDirectory(_folder);
        foreach (string entry in Directory.EnumerateFileSystemEntries(Fixtures.TinySd))
        {
            string name = Path.GetFileName(entry);
            if (name is "text_encoder" or "expected") continue;
            string link = Path.Combine(_folder, name);
            if (Directory.Exists(entry)) Directory.CreateSymbolicLink(link, entry);
            else File.CreateSymbolicLink(link, entry);
        }
        Directory.CreateDirectory(Path.Combine(_folder, "text_encoder"));
        File.CreateSymbolicLink(Path.Combine(_folder, "text_encoder", "model.onnx"), encoder);
        return _folder;
    }

    public void Dispose()
    {
        if (_tiny.IsValueCreated) _tiny.Value.Dispose();
        if (_lnAffine.IsValueCreated) _lnAffine.Value.Dispose();
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true); // removes the links, not the fixture
    }
}
