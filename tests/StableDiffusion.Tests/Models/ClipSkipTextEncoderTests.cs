using System.Text.Json;
using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;
using StableDiffusion.Models;
using StableDiffusion.Tests.Support;
using Xunit.Abstractions;

namespace StableDiffusion.Tests.Models;

/// <summary>
/// <see cref="TextEncoder.EncodeClipSkip"/> against A1111's hidden states (expected/prompts-a1111/clip_chunks, PyTorch):
/// A1111's CLIP skip 2 is <c>final_layer_norm(hidden_states[-2])</c>, diffusers' clip_skip 1; its skip 1 is
/// last_hidden_state. Every chunk of every case is fed with its stored token ids (the hidden states are taken before
/// emphasis, so weights do not matter). README tolerance: atol 1e-5 (ORT vs torch ≤ 2.4e-6).
/// </summary>
public sealed class ClipSkipTextEncoderTests(ITestOutputHelper output)
{
    private static string ChunksFolder => Fixtures.ExpectedPath("prompts-a1111", "clip_chunks");

    private static Func<OnnxGraphFile, Microsoft.ML.OnnxRuntime.InferenceSession> Cpu { get; } =
        graph => new SessionFactory(ExecutionProvider.Cpu).Create(graph, "text_encoder", null, cudaGraph: false);

    private static TextEncoder Load(string path) => new(new SessionFactory(ExecutionProvider.Cpu).Create(path, "text_encoder"), path);

    private static string EncoderPath(string encoder) => encoder == "tiny"
        ? Path.Combine(Fixtures.TinySd, "text_encoder", "model.onnx")
        : Fixtures.ExpectedPath("prompts-a1111", "text_encoder_ln_affine", "model.onnx");

    /// <summary>Every entry of every case: (case/entry, token ids [chunks × 77], chunks, its files).</summary>
    private static IEnumerable<(string Name, int[] Ids, int Chunks, JsonElement Files)> Entries()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ChunksFolder, "manifest.json")));
        var all = new List<(string, int[], int, JsonElement)>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            int e = 0;
            foreach (var entry in c.GetProperty("entries").EnumerateArray())
            {
                var files = entry.GetProperty("files").Clone();
                int[] ids = Fixtures.ReadI64(DataPath(files, "tokens")).Select(v => checked((int)v)).ToArray();
                all.Add(($"{c.GetProperty("id").GetString()}[{e++}]", ids, entry.GetProperty("chunks").GetInt32(), files));
            }
        }
        return all;
    }

    private static string DataPath(JsonElement files, string key) => Path.Combine(ChunksFolder, files.GetProperty(key).GetProperty("file").GetString()!);

    [Theory]
    [InlineData("tiny")]
    [InlineData("ln_affine")] // a final layer norm with weights ≠ 1 and bias ≠ 0: the copy applies the model's own
    public void ClipSkip1IsA1111sClipSkip2(string encoder)
    {
        using var text = Load(EncoderPath(encoder));
        double skipped = 0, last = 0;
        int chunks = 0;
        foreach (var (name, ids, n, files) in Entries())
        {
            var (lastHidden, skippedHidden) = text.EncodeClipSkip(ids, n, 77, 1, Cpu);
            var expectedSkipped = Fixtures.ReadF32(DataPath(files, $"{encoder}/hidden_skip2"));
            var expectedLast = Fixtures.ReadF32(DataPath(files, $"{encoder}/hidden_skip1"));
            Compare.Close(expectedSkipped, skippedHidden, 1e-5, $"{encoder} {name} clip skip 1");
            Compare.Close(expectedLast, lastHidden, 1e-5, $"{encoder} {name} last_hidden_state");
            Compare.Close(expectedLast, text.Encode(ids, n, 77), 1e-5, $"{encoder} {name} Encode");
            skipped = Math.Max(skipped, Compare.MaxAbs(expectedSkipped, skippedHidden));
            last = Math.Max(last, Compare.MaxAbs(expectedLast, lastHidden));
            chunks += n;
        }
        Assert.Equal(32, text.HiddenSize);
        output.WriteLine($"{encoder}: {chunks} chunks, max |diff| clip skip 1 {skipped:E2}, last_hidden_state {last:E2}");
    }

    [Fact]
    public void Float16OutputsAreCopiedWithTheirCast()
    {
        // tiny-sd-fp16io casts every float output to float16: the copied norm ends in the same Cast.
        using var text = Load(Path.Combine(Fixtures.TinySdFp16Io, "text_encoder", "model.onnx"));
        var (name, ids, n, files) = Entries().First();
        var (_, skippedHidden) = text.EncodeClipSkip(ids, n, 77, 1, Cpu);
        var expected = Fixtures.ReadF32(DataPath(files, "tiny/hidden_skip2"));
        Compare.Close(expected, skippedHidden, 1e-5, $"fp16io {name} clip skip 1", rtol: 1.0 / 1024); // float16 rounding: 2^-11
        output.WriteLine($"fp16io: max |diff| {Compare.MaxAbs(expected, skippedHidden):E2}");
    }

    [Fact]
    public void TheRewrittenSessionIsLoadedOncePerClipSkipAndDisposedWithTheEncoder()
    {
        var (_, ids, n, _) = Entries().First();
        int loads = 0;
        Func<OnnxGraphFile, Microsoft.ML.OnnxRuntime.InferenceSession> counting = graph => { loads++; return Cpu(graph); };
        var text = Load(EncoderPath("tiny"));
        text.EncodeClipSkip(ids, n, 77, 1, counting);
        text.EncodeClipSkip(ids, n, 77, 1, counting);
        Assert.Equal(1, loads);
        var (_, embeddings) = text.EncodeClipSkip(ids, n, 77, 3, counting);
        Assert.Equal(2, loads);
        Assert.Equal(2, text.ClipSkipSessionCount);
        Assert.NotEqual(text.EncodeClipSkip(ids, n, 77, 1, counting).Skipped, embeddings);
        Assert.Throws<ArgumentOutOfRangeException>(() => text.EncodeClipSkip(ids, n, 77, 4, counting)); // 3 layers
        Assert.Equal(2, text.ClipSkipSessionCount);
        text.Dispose();
        Assert.Equal(0, text.ClipSkipSessionCount);
    }

    [Fact]
    public void AnEncoderThatCannotBeRewrittenSaysWhy()
    {
        // A graph with the encoder's inputs and outputs but no layers: input_ids → Gather → last_hidden_state.
        var graph = new GraphProto { Name = "no_layers" };
        graph.Input.Add(OnnxNodes.TensorValue("input_ids", TensorProto.Types.DataType.Int32, "batch", 77));
        graph.Output.Add(OnnxNodes.TensorValue("last_hidden_state", TensorProto.Types.DataType.Float, "batch", 77, 4));
        graph.Initializer.Add(StableDiffusion.Tests.Graph.ClipSkipRewriterTests.Floats("table", [49408, 4], new float[49408 * 4]));
        graph.Node.Add(OnnxNodes.Node("Gather", ["table", "input_ids"], ["last_hidden_state"], "gather"));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        string folder = Path.Combine(Path.GetTempPath(), "clipskip-" + Guid.NewGuid().ToString("N"));
        try
        {
            string path = Path.Combine(folder, "model.onnx");
            OnnxGraphFile.FromModel(model).Save(path);
            using var text = Load(path);
            var (_, ids, n, _) = Entries().First();
            Assert.Equal(4, text.Encode(ids, n, 77).Length / 77);
            var e = Assert.Throws<ModelLoadException>(() => text.EncodeClipSkip(ids, n, 77, 1, Cpu));
            Assert.Equal(ModelLoadError.UnsupportedGraph, e.Error);
            Assert.Contains("ClipSkip", e.Message);
            Assert.Contains("residual", e.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
