using System.Runtime.InteropServices;
using System.Text.Json;

namespace StableDiffusion.Tests.Support;

/// <summary>
/// Locates the read-only reference fixtures at ../shared/fixtures (relative to the repository root) and
/// reads their raw arrays. A missing fixture folder fails the test loudly; it never skips.
/// </summary>
public static class Fixtures
{
    private static readonly Lazy<string> _root = new(FindRoot);

    /// <summary>Absolute path of ../shared/fixtures.</summary>
    public static string Root => _root.Value;

    public static string TinySd => Path.Combine(Root, "tiny-sd");
    public static string TinySdFp16Io => Path.Combine(Root, "tiny-sd-fp16io");
    public static string Expected => Path.Combine(TinySd, "expected");

    /// <summary>A path under tiny-sd/expected.</summary>
    public static string ExpectedPath(params string[] parts) => Path.Combine([Expected, .. parts]);

    public static JsonDocument ReadJson(params string[] partsUnderExpected) =>
        JsonDocument.Parse(File.ReadAllText(ExpectedPath(partsUnderExpected)));

    public static float[] ReadF32(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();
    public static double[] ReadF64(string path) => MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(path)).ToArray();
    public static long[] ReadI64(string path) => MemoryMarshal.Cast<byte, long>(File.ReadAllBytes(path)).ToArray();

    private static string FindRoot()
    {
        // Walk up from the test assembly to the repository root (the folder holding the .sln), then ../shared/fixtures.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StableDiffusion.Pipeline.sln")))
            dir = dir.Parent;
        if (dir is null)
            throw new InvalidOperationException($"Cannot find the repository root above {AppContext.BaseDirectory}.");
        var root = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "fixtures"));
        if (!Directory.Exists(Path.Combine(root, "tiny-sd")))
            throw new DirectoryNotFoundException(
                $"The reference fixtures are missing: expected {root}/tiny-sd beside the repository (../shared/fixtures). " +
                "Tests never skip without them.");
        return root;
    }
}
