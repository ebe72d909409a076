using StableDiffusion.Conversion;
using StableDiffusion.Graph;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Conversion;

/// <summary>
/// The fixture model converted once for all conversion tests: to float16, to float16 keeping float32 inputs and
/// outputs, and the float16 conversion widened back to float32 (float16 weights, float32 computation).
/// </summary>
public sealed class ConvertedFixture : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sd-fp16-tests-" + Guid.NewGuid().ToString("N"));

    public ConvertedFixture()
    {
        Float16 = Path.Combine(_root, "fp16");
        KeepIO = Path.Combine(_root, "fp16-keepio");
        Widened = Path.Combine(_root, "widened");
        Reports = Float16FolderConverter.Convert(Fixtures.TinySd, Float16);
        KeepIOReports = Float16FolderConverter.Convert(Fixtures.TinySd, KeepIO, new Float16ConversionOptions { KeepIOTypes = true });

        // Widened: a copy of the float16 folder whose graphs are cast back up to float32.
        CopyDirectory(Float16, Widened);
        foreach (var component in Float16FolderConverter.GraphComponents(Widened))
        {
            var path = Path.Combine(Widened, component, "model.onnx");
            var file = OnnxGraphFile.Load(path);
            Float32Widener.Widen(file);
            file.Save(path);
        }
    }

    public string Float16 { get; }
    public string KeepIO { get; }
    public string Widened { get; }
    public IReadOnlyList<Float16ConversionReport> Reports { get; }
    public IReadOnlyList<Float16ConversionReport> KeepIOReports { get; }

    public Float16ConversionReport Report(string component) => Reports.Single(r => r.Component == component);

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }
}
