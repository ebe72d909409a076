using StableDiffusion.Graph.Onnx;
using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>
/// Exporters disagree on the UNet's timestep input: float32 (diffusers 0.12's script), float16 (fp16 exports) or int64
/// (Optimum). The fixture has the first two; this builds an int64 variant of its UNet (the input retyped, a Cast to
/// float in front of the unchanged graph) and checks the pipeline reads the type from the session and still matches diffusers.
/// </summary>
public sealed class TimestepTypeTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "sd-int64-timestep-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Int64TimestepUNetMatchesDiffusers()
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(Fixtures.TinySd))
        {
            string name = Path.GetFileName(entry);
            if (name is "unet" or "expected") continue;
            if (Directory.Exists(entry)) Directory.CreateSymbolicLink(Path.Combine(_folder, name), entry);
            else File.Copy(entry, Path.Combine(_folder, name));
        }
        var unet = OnnxGraphFile.Load(Path.Combine(Fixtures.TinySd, "unet", "model.onnx"));
        var input = unet.Graph.Input.Single(i => i.Name == "timestep");
        input.Type.TensorType.ElemType = (int)TensorProto.Types.DataType.Int64;
        foreach (var node in unet.Graph.Node)
            for (int i = 0; i < node.Input.Count; i++)
                if (node.Input[i] == "timestep") node.Input[i] = "timestep_as_float";
        unet.Graph.Node.Insert(0, OnnxNodes.Node("Cast", ["timestep"], ["timestep_as_float"], "timestep_cast", "",
            OnnxNodes.Int("to", (long)TensorProto.Types.DataType.Float)));
        unet.Save(Path.Combine(_folder, "unet", "model.onnx"), "weights.pb");

        using var pipeline = StableDiffusionPipeline.Load(_folder, new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu });
        Assert.Equal(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64, pipeline.UNet.TimestepType);
        var c = PipelineCase.Load(PipelineParityTests.Current).Single(x => x.Id == "pndm20_default");
        var results = pipeline.Generate(c.Requests, new GenerationSettings { Steps = c.Steps, GuidanceScale = c.GuidanceScale, Width = c.Width, Height = c.Height });
        Compare.Close(c.F32("image"), results[0].Pixels, 1e-4, "int64-timestep UNet image");
        Compare.Png(c.PngPath(0), results[0].Image, 1, "int64-timestep UNet PNG");
        results[0].Dispose();
    }

    public TimestepTypeTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
