using System.Text.Json;
using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Prompts;
using StableDiffusion.Tests.Support;
using Xunit.Abstractions;

namespace StableDiffusion.Tests.Prompts;

/// <summary>
/// A1111's weighted conditioning (clip_chunks/manifest.json, README tolerance atol 1e-5):
/// (1) the emphasis math alone, on A1111's own stored hidden states, over each chunk index of the batch;
/// (2) the whole path, chunker → our ONNX text encoder → emphasis → concatenation. 'tiny' stores only 'No norm' (its
/// 'Original' is 0/0), 'ln_affine' all four configurations.
/// </summary>
public sealed class A1111ConditioningFixtureTests(ITestOutputHelper output)
{
    private const int Tokens = 77;

    public static TheoryData<string, string> Configurations() => new()
    {
        { "tiny", "nonorm_skip1" }, { "tiny", "nonorm_skip2" },
        { "ln_affine", "original_skip1" }, { "ln_affine", "nonorm_skip1" },
        { "ln_affine", "original_skip2" }, { "ln_affine", "nonorm_skip2" },
    };

    private static (EmphasisMode Mode, int ClipSkip) Parse(string config) => (
        config.StartsWith("original", StringComparison.Ordinal) ? EmphasisMode.Original : EmphasisMode.NoNorm,
        config.EndsWith("skip2", StringComparison.Ordinal) ? 2 : 1);

    private static IEnumerable<(string Id, JsonElement Case)> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(A1111ChunkFixtureTests.ChunksFolder, "manifest.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => (c.GetProperty("id").GetString()!, c.Clone())).ToArray();
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void EmphasisOnA1111sHiddenStatesGivesItsConditioning(string encoder, string config)
    {
        var (mode, skip) = Parse(config);
        double worst = 0;
        foreach (var (id, c) in Cases())
        {
            var entries = c.GetProperty("entries").EnumerateArray().ToArray();
            A1111ChunkBatch batch = A1111ChunkFixtureTests.Batch(c);
            float[][] hidden = entries.Select(e => Fixtures.ReadF32(A1111ChunkFixtureTests.DataPath(e, $"{encoder}/hidden_skip{skip}"))).ToArray();
            int hiddenSize = hidden[0].Length / (batch.ChunkCount * Tokens);
            var result = A1111Conditioning.Encode(batch, ids =>
            {
                // The stored hidden states of this chunk index for every text: the chunk is the first token id's row.
                int chunk = ChunkIndex(batch, ids);
                var z = new float[entries.Length * Tokens * hiddenSize];
                for (int t = 0; t < entries.Length; t++)
                    Array.Copy(hidden[t], chunk * Tokens * hiddenSize, z, t * Tokens * hiddenSize, Tokens * hiddenSize);
                return z;
            }, mode);

            for (int t = 0; t < entries.Length; t++)
            {
                float[] expected = Fixtures.ReadF32(A1111ChunkFixtureTests.DataPath(entries[t], $"{encoder}/cond_{config}"));
                Compare.Close(expected, result[t], 1e-5, $"{id}[{t}] {encoder} {config}");
                worst = Math.Max(worst, Compare.MaxAbs(expected, result[t]));
            }
        }
        output.WriteLine($"{encoder} {config}: max |diff| {worst:E2}");
    }

    [Fact]
    public void OriginalEmphasisNormalisesOverTheWholeBatch()
    {
        // The fixture's control: each schedule text encoded alone gives a conditioning 2.5e-5 away from A1111's batched one.
        foreach (string id in new[] { "prompt_edit_batch", "prompt_edit_uneven" })
        {
            JsonElement c = A1111ChunkFixtureTests.Case(id);
            var entries = c.GetProperty("entries").EnumerateArray().ToArray();
            for (int t = 0; t < entries.Length; t++)
            {
                string text = entries[t].GetProperty("text").GetString()!;
                var alone = new A1111ChunkBatch(new A1111Chunker(A1111ChunkFixtureTests.Tokenizer.Value), [text]);
                float[] hidden = Fixtures.ReadF32(A1111ChunkFixtureTests.DataPath(entries[t], "ln_affine/hidden_skip1"));
                int size = hidden.Length / (c.GetProperty("entries")[t].GetProperty("chunks").GetInt32() * Tokens);
                float[] result = A1111Conditioning.Encode(alone, ids =>
                    hidden.AsSpan(ChunkIndex(alone, ids) * Tokens * size, Tokens * size).ToArray(), EmphasisMode.Original)[0];
                float[] expectedAlone = Fixtures.ReadF32(A1111ChunkFixtureTests.DataPath(entries[t], "ln_affine/cond_original_skip1_encoded_alone"));
                float[] expectedBatched = Fixtures.ReadF32(A1111ChunkFixtureTests.DataPath(entries[t], "ln_affine/cond_original_skip1"));
                Compare.Close(expectedAlone, result, 1e-6, $"{id}[{t}] alone");
                // Where the fixture records the batched/alone difference, ours is the same size (2.5e-5 with weights; 1e-6 without).
                if (entries[t].GetProperty("ln_affine_max_abs_diff_batched_vs_alone_original_skip1") is { ValueKind: JsonValueKind.Number } recorded)
                    Assert.Equal(recorded.GetDouble(), Compare.MaxAbs(expectedBatched, result), 1e-6);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void OurTextEncoderGivesA1111sConditioning(string encoder, string config)
    {
        var (mode, skip) = Parse(config);
        string path = encoder == "tiny"
            ? Path.Combine(Fixtures.TinySd, "text_encoder", "model.onnx")
            : Fixtures.ExpectedPath("prompts-a1111", "text_encoder_ln_affine", "model.onnx");
        var factory = new SessionFactory(ExecutionProvider.Cpu);
        using var text = new TextEncoder(factory.Create(path, "text_encoder"), path);
        Func<OnnxGraphFile, Microsoft.ML.OnnxRuntime.InferenceSession> cpu =
            graph => factory.Create(graph, "text_encoder", null, cudaGraph: false);

        double worst = 0;
        foreach (var (id, c) in Cases())
        {
            A1111ChunkBatch batch = A1111ChunkFixtureTests.Batch(c);
            // A1111's CLIP skip 2 is final_layer_norm(hidden_states[-2]): diffusers' clip_skip 1.
            var result = A1111Conditioning.Encode(batch, ids => skip == 1
                ? text.Encode(ids, ids.Length / Tokens, Tokens)
                : text.EncodeClipSkip(ids, ids.Length / Tokens, Tokens, skip - 1, cpu).Skipped, mode);
            var entries = c.GetProperty("entries").EnumerateArray().ToArray();
            for (int t = 0; t < entries.Length; t++)
            {
                float[] expected = Fixtures.ReadF32(A1111ChunkFixtureTests.DataPath(entries[t], $"{encoder}/cond_{config}"));
                Compare.Close(expected, result[t], 1e-5, $"{id}[{t}] {encoder} {config}");
                worst = Math.Max(worst, Compare.MaxAbs(expected, result[t]));
            }
        }
        output.WriteLine($"{encoder} {config}: max |diff| {worst:E2}");
    }

    /// <summary>Which chunk index a batch of ids is (the callback is handed the ids, not the index).</summary>
    private static int ChunkIndex(A1111ChunkBatch batch, int[] ids)
    {
        for (int k = 0; k < batch.ChunkCount; k++)
            if (batch.Tokens(k).AsSpan().SequenceEqual(ids)) return k;
        throw new InvalidOperationException("The ids are no chunk of the batch.");
    }
}
