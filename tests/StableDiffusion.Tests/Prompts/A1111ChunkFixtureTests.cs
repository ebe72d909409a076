using System.Text.Json;
using StableDiffusion.Prompts;
using StableDiffusion.Tests.Support;
using StableDiffusion.Text;

namespace StableDiffusion.Tests.Prompts;

/// <summary>
/// Every case of expected/prompts-a1111/clip_chunks/manifest.json (A1111 v1.10.1's sd_hijack_clip.py on the tiny-sd
/// tokenizer): the schedule texts of each prompt are chunked as one batch, and each text's token ids [chunks, 77],
/// multipliers, token count and empty-chunk padding must equal A1111's exactly (the JSON and the .i64/.f32 files).
/// </summary>
public sealed class A1111ChunkFixtureTests
{
    internal static string ChunksFolder => Fixtures.ExpectedPath("prompts-a1111", "clip_chunks");

    private static readonly Lazy<JsonDocument> Manifest =
        new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(ChunksFolder, "manifest.json"))));

    internal static readonly Lazy<ClipTokenizer> Tokenizer =
        new(() => ClipTokenizer.FromDirectory(Path.Combine(Fixtures.TinySd, "tokenizer")));

    internal static JsonElement Case(string id) =>
        Manifest.Value.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("id").GetString() == id);

    public static TheoryData<string> CaseIds()
    {
        var data = new TheoryData<string>();
        foreach (var c in Manifest.Value.RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("id").GetString()!);
        return data;
    }

    /// <summary>The batch A1111 encodes for a case: its schedule texts at 20 steps, chunked with the v1.10.1 defaults.</summary>
    internal static A1111ChunkBatch Batch(JsonElement c)
    {
        var schedule = A1111PromptSchedules.Get(c.GetProperty("prompt").GetString()!, 20);
        return new A1111ChunkBatch(new A1111Chunker(Tokenizer.Value), schedule.Select(e => e.Text).ToArray());
    }

    internal static string DataPath(JsonElement entry, string key) =>
        Path.Combine(ChunksFolder, entry.GetProperty("files").GetProperty(key).GetProperty("file").GetString()!);

    [Fact]
    public void TheManifestHoldsEveryDocumentedCase()
    {
        Assert.Equal(18, Manifest.Value.RootElement.GetProperty("cases").GetArrayLength());
        Assert.Equal(20, Manifest.Value.RootElement.GetProperty("opts").GetProperty("comma_padding_backtrack").GetInt32());
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void TheScheduleTextsAreTheEntries(string id)
    {
        JsonElement c = Case(id);
        var schedule = A1111PromptSchedules.Get(c.GetProperty("prompt").GetString()!, 20);
        var entries = c.GetProperty("entries").EnumerateArray().ToArray();
        Assert.Equal(c.GetProperty("schedule_20_steps").EnumerateArray().Select(e => new PromptScheduleEntry(e[0].GetInt32(), e[1].GetString()!)), schedule);
        Assert.Equal(entries.Select(e => new PromptScheduleEntry(e.GetProperty("end_at_step").GetInt32(), e.GetProperty("text").GetString()!)), schedule);
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void ChunksMatchExactly(string id)
    {
        JsonElement c = Case(id);
        A1111ChunkBatch batch = Batch(c);
        var entries = c.GetProperty("entries").EnumerateArray().ToArray();
        Assert.Equal(entries.Length, batch.Texts.Count);
        for (int t = 0; t < entries.Length; t++)
        {
            JsonElement e = entries[t];
            string what = $"{id}[{t}]";
            int chunks = e.GetProperty("chunks").GetInt32();
            Assert.True(chunks == batch.ChunkCount, $"{what}: {batch.ChunkCount} chunks, expected {chunks}");
            Assert.True(e.GetProperty("padded_with_empty_chunks").GetInt32() == batch.PaddingChunks(t), $"{what}: padding chunks");
            Assert.True(e.GetProperty("token_count").GetInt32() == batch.Lines[t].TokenCount, $"{what}: token count {batch.Lines[t].TokenCount}");

            int[][] tokens = e.GetProperty("tokens").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
            double[][] multipliers = e.GetProperty("multipliers").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
            long[] tokenFile = Fixtures.ReadI64(DataPath(e, "tokens"));
            float[] multiplierFile = Fixtures.ReadF32(DataPath(e, "multipliers"));
            Assert.Equal(chunks * 77, tokenFile.Length);
            for (int k = 0; k < chunks; k++)
            {
                PromptChunk chunk = batch.Chunk(t, k);
                Assert.Equal(tokens[k], chunk.Tokens);
                Assert.Equal(multipliers[k], chunk.Multipliers);
                Assert.Equal(tokenFile.Skip(k * 77).Take(77).Select(v => (int)v), chunk.Tokens);
                Assert.Equal(multiplierFile.Skip(k * 77).Take(77), batch.Multipliers(k).Skip(t * 77).Take(77));
            }
        }
    }
}
