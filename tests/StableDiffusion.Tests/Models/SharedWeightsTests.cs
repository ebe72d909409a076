using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Pipeline;
using StableDiffusion.Tests.Support;
using Xunit.Abstractions;

namespace StableDiffusion.Tests.Models;

/// <summary>
/// Fixed-shape sessions on <see cref="SharedWeights"/> (CPU): a second shape session adds little native memory against
/// the weights' size where a session loading the file adds about a copy, and gives the same outputs. They run the graph
/// the load-time (dynamic-shape) session optimized, so the tiny-sd images are bit-identical to the dynamic session's,
/// and within the 2e-6 that fixed-shape fusions differ by (UNetBindingTests) of sessions holding their own copy.
/// </summary>
[Collection(ProcessMemory.Name)]
public sealed class SharedWeightsTests(ITestOutputHelper output)
{
    private const string Current = "pipeline-diffusers-0.35";

    [Fact]
    public void SecondShapeSessionOnSharedWeightsHoldsNoCopyOfThem()
    {
        if (ProcessMemory.Resident() is null) return; // /proc is Linux's
        var folder = Directory.CreateTempSubdirectory("sd-shared-weights-").FullName;
        var keep = new List<IDisposable>(); // disposed in reverse: the sessions before the weights they read
        try
        {
            var path = SyntheticBigWeights.Save(folder);
            var factory = new SessionFactory(ExecutionProvider.Cpu);
            keep.Add(factory.CreateSharing(path, null, "unet", out var shared));
            Assert.NotNull(shared);
            keep.Add(shared);
            Assert.InRange(shared.Bytes, SyntheticBigWeights.WeightBytes * 9 / 10, SyntheticBigWeights.WeightBytes * 11 / 10);
            Assert.Equal(0, new FileInfo(Path.Combine(Path.GetDirectoryName(shared.ModelPath)!, "weights.bin")).Length); // read once, emptied

            var (added, sharedOutputs) = SecondSessionAdds(dims => factory.Create(shared, "unet", dims, cudaGraph: false));
            // The control: today's shape sessions, loading the file, add about one copy of the weights each.
            var (addedFile, fileOutputs) = SecondSessionAdds(dims => factory.Create(path, "unet", dims, cudaGraph: false));

            output.WriteLine($"weights {SyntheticBigWeights.WeightBytes >> 20} MiB; second shape session adds {added >> 20} MiB shared, {addedFile >> 20} MiB loading the file");
            Assert.True(added < SyntheticBigWeights.WeightBytes / 4,
                $"A second shape session on shared weights added {added >> 20} MiB, against {SyntheticBigWeights.WeightBytes >> 20} MiB of weights.");
            Assert.True(addedFile > SyntheticBigWeights.WeightBytes / 2, $"The control added only {addedFile >> 20} MiB: the measurement sees no copy.");
            for (int i = 0; i < fileOutputs.Length; i++)
                Compare.Close(fileOutputs[i], sharedOutputs[i], 0, $"output {i}: shared weights vs the file");
        }
        finally
        {
            foreach (var item in Enumerable.Reverse(keep)) item.Dispose();
            Directory.Delete(folder, recursive: true);
        }

        // Native memory the second of two shape sessions (batch 1, then 2) adds, and its outputs; both stay loaded.
        (long Added, float[][] Outputs) SecondSessionAdds(Func<Dictionary<string, long>, InferenceSession> create)
        {
            var first = create(Batch(1));
            keep.Add(first);
            Run(first, 1);
            long before = ProcessMemory.Resident()!.Value;
            var second = create(Batch(2));
            keep.Add(second);
            var outputs = Run(second, 2);
            return (ProcessMemory.Resident()!.Value - before, outputs);
        }
    }

    [Fact]
    public void TemporaryGraphIsDeletedWithTheWeights()
    {
        var factory = new SessionFactory(ExecutionProvider.Cpu);
        using var load = factory.CreateSharing(Path.Combine(Fixtures.TinySd, "unet", "model.onnx"), null, "unet", out var shared);
        Assert.NotNull(shared);
        var optimized = Path.GetDirectoryName(shared.ModelPath)!;
        Assert.True(Directory.Exists(optimized));
        shared.Dispose();
        Assert.False(Directory.Exists(optimized));
        using var options = new SessionOptions();
        Assert.Throws<ObjectDisposedException>(() => shared.Register(options));
    }

    [Theory]
    [InlineData("pndm20_default")]
    [InlineData("dpmpp2m_karras20_batch3_128")]
    public void TinySdImagesOnSharedWeightsAreTheDynamicSessionsImages(string id)
    {
        var c = PipelineCase.Load(Current).Single(x => x.Id == id);
        using var dynamic = Load(shared: false, fixedShapes: false);
        using var own = Load(shared: false);
        using var sharing = Load(shared: true);
        Assert.Equal(0, own.UNet.SharedWeightBytes);
        Assert.True(sharing.UNet.SharedWeightBytes > 0);
        Assert.True(sharing.UNet.UsesIOBinding);
        var expected = c.Images(dynamic);
        var copies = c.Images(own);
        var actual = c.Images(sharing);
        for (int i = 0; i < expected.Length; i++)
        {
            Compare.Close(expected[i], actual[i], 0, $"{id} image {i}: shared weights vs the dynamic session");
            Compare.Close(copies[i], actual[i], 2e-6, $"{id} image {i}: shared weights vs a copy per session");
        }
    }

    [Fact]
    public void AttentionSlicedUNetSharesItsWeightsAndGivesTheDynamicSessionsImages()
    {
        var c = PipelineCase.Load(Current).Single(x => x.Id == "pndm20_default");
        using var dynamic = Load(shared: false, fixedShapes: false);
        using var sharing = Load(shared: true);
        dynamic.EnableAttentionSlicing(AttentionSliceSize.Max);
        sharing.EnableAttentionSlicing(AttentionSliceSize.Max);
        Assert.NotNull(sharing.AttentionSlicing?.Model);
        Assert.True(sharing.UNet.SharedWeightBytes > 0);
        var expected = c.Images(dynamic);
        var actual = c.Images(sharing);
        for (int i = 0; i < expected.Length; i++)
            Compare.Close(expected[i], actual[i], 0, $"sliced image {i}: shared weights vs the dynamic session");
    }

    private static StableDiffusionPipeline Load(bool shared, bool fixedShapes = true) => StableDiffusionPipeline.Load(Fixtures.TinySd,
        new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu, UNetSharedWeights = shared, UNetFixedShapes = fixedShapes, UNetIOBinding = fixedShapes });


    private static Dictionary<string, long> Batch(long batch) => new() { ["batch"] = batch };

    private static float[][] Run(InferenceSession session, int batch)
    {
        var (x, xs, y, ys) = SyntheticBigWeights.Inputs(batch);
        using var xv = OrtValue.CreateTensorValueFromMemory(x, xs);
        using var yv = OrtValue.CreateTensorValueFromMemory(y, ys);
        using var run = new RunOptions();
        using var outputs = session.Run(run, ["x", "y"], [xv, yv], session.OutputNames);
        return outputs.Select(o => o.GetTensorDataAsSpan<float>().ToArray()).ToArray();
    }
}
