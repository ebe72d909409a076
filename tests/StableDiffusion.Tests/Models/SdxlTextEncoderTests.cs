using System.Text.Json;
using StableDiffusion.Models;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Models;

/// <summary>
/// <see cref="TextEncoder.EncodeAll"/> on the SDXL fixture encoders against tiny-sdxl/expected/networks (PyTorch, every
/// output incl. each hidden_states.i; README: ONNX Runtime vs torch ≤ 1.7e-6): positive and Python-style negative
/// indices, text_embeds despite its misleading [batch, sequence] metadata, and the refusals.
/// </summary>
public sealed class SdxlTextEncoderTests
{
    private static string NetworksFolder => Path.Combine(Fixtures.Root, "tiny-sdxl", "expected", "networks");

    private static TextEncoder Load(params string[] parts)
    {
        string path = Path.Combine([Fixtures.Root, .. parts]);
        return new TextEncoder(new SessionFactory(ExecutionProvider.Cpu).Create(path, "text_encoder"), path);
    }

    private static JsonElement Case(string id)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(NetworksFolder, "manifest.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("id").GetString() == id).Clone();
    }

    private static string DataPath(JsonElement tensor) => Path.Combine(NetworksFolder, tensor.GetProperty("file").GetString()!);

    [Theory]
    [InlineData("text_encoder", 4, 16)]
    [InlineData("text_encoder_2", 5, 24)]
    public void EveryHiddenStateAndThePooledOutputEqualPyTorch(string graph, int hiddenStates, int width)
    {
        var c = Case($"{graph}_3prompts");
        int[] ids = Fixtures.ReadI64(DataPath(c.GetProperty("inputs").GetProperty("input_ids"))).Select(v => checked((int)v)).ToArray();
        var outputs = c.GetProperty("outputs");
        bool pooled = graph == "text_encoder_2";
        using var encoder = Load("tiny-sdxl", graph, "model.onnx");
        Assert.Equal(hiddenStates, encoder.HiddenStateCount);
        Assert.Equal(pooled, encoder.HasPooledOutput);

        for (int i = 0; i < hiddenStates; i++)
        {
            var expected = Fixtures.ReadF32(DataPath(outputs.GetProperty($"hidden_states.{i}")));
            foreach (int index in new[] { i, i - hiddenStates })
            {
                var actual = encoder.EncodeAll(ids, 3, 77, index, pooled);
                Assert.Equal(width, actual.HiddenSize);
                Compare.Close(expected, actual.HiddenStates, 1e-5, $"{graph} hidden_states[{index}]");
                if (!pooled) continue;
                Assert.Equal(20, actual.PooledSize);
                Compare.Close(Fixtures.ReadF32(DataPath(outputs.GetProperty("text_embeds"))), actual.Pooled, 1e-5, $"{graph} text_embeds");
            }
        }

        Compare.Close(Fixtures.ReadF32(DataPath(outputs.GetProperty("last_hidden_state"))), encoder.Encode(ids, 3, 77), 1e-5, $"{graph} last_hidden_state");
    }

    [Fact]
    public void AGraphWithoutHiddenStatesAsksForAnOptimumExport()
    {
        using var encoder = Load("tiny-sd", "text_encoder", "model.onnx"); // diffusers' v0.12 script: last_hidden_state only
        Assert.Equal(0, encoder.HiddenStateCount);
        var e = Assert.Throws<ModelLoadException>(() => encoder.EncodeAll(new int[77], 1, 77, -2, pooled: false));
        Assert.Equal(ModelLoadError.UnsupportedGraph, e.Error);
        Assert.Contains("optimum", e.Message);
    }

    [Fact]
    public void AnIndexOutsideTheTupleOrAMissingPooledOutputIsRefused()
    {
        using var encoder = Load("tiny-sdxl", "text_encoder", "model.onnx");
        foreach (int index in new[] { 4, -5 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => encoder.EncodeAll(new int[77], 1, 77, index, pooled: false));
            Assert.Contains("hidden_states.3", e.Message);
        }
        var pooled = Assert.Throws<ModelLoadException>(() => encoder.EncodeAll(new int[77], 1, 77, -2, pooled: true));
        Assert.Contains("text_embeds", pooled.Message);
    }
}
