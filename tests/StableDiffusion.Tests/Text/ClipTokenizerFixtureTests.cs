using System.Text.Json;
using StableDiffusion.Tests.Support;
using StableDiffusion.Text;

namespace StableDiffusion.Tests.Text;

/// <summary>
/// Every prompt of expected/tokenizer/manifest.json: transformers 4.25.1 CLIPTokenizer with ftfy 6.1.1,
/// called as diffusers does (padding="max_length", max_length=77, truncation=True). Ids must be exactly equal.
/// </summary>
public class ClipTokenizerFixtureTests
{
    private static readonly Lazy<ClipTokenizer> Tokenizer =
        new(() => ClipTokenizer.FromDirectory(Path.Combine(Fixtures.TinySd, "tokenizer")));

    private static readonly Lazy<JsonElement[]> Cases = new(() =>
    {
        using JsonDocument doc = Fixtures.ReadJson("tokenizer", "manifest.json");
        return doc.RootElement.GetProperty("prompts").EnumerateArray().Select(e => e.Clone()).ToArray();
    });

    // One row per manifest entry; reading the manifest here makes a missing fixture fail the test run, never skip it.
    public static IEnumerable<object[]> CaseIndices() => Enumerable.Range(0, Cases.Value.Length).Select(i => new object[] { i });

    [Fact]
    public void ManifestHasPrompts() => Assert.True(Cases.Value.Length >= 20, "expected the tokenizer manifest to list its prompts");

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void InputIdsEqualTransformers(int index)
    {
        JsonElement c = Cases.Value[index];
        string prompt = c.GetProperty("prompt").GetString()!;
        int[] expected = c.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        PromptTokens actual = Tokenizer.Value.Encode(prompt);

        Assert.Equal(77, actual.Ids.Length);
        Assert.Equal(expected, actual.Ids);
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void UntruncatedTokensAndLengthEqualTransformers(int index)
    {
        JsonElement c = Cases.Value[index];
        string prompt = c.GetProperty("prompt").GetString()!;
        string[] expectedTokens = c.GetProperty("tokens_untruncated").EnumerateArray().Select(e => e.GetString()!).ToArray();
        int expectedLength = c.GetProperty("untruncated_length").GetInt32();

        PromptTokens actual = Tokenizer.Value.Encode(prompt);

        // The manifest's untruncated token list includes BOS and EOS; PromptTokens.Tokens does not.
        Assert.Equal("<|startoftext|>", expectedTokens[0]);
        Assert.Equal("<|endoftext|>", expectedTokens[^1]);
        Assert.Equal(expectedTokens[1..^1], actual.Tokens);
        Assert.Equal(expectedLength, actual.Count);
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void TruncationFlagEqualsManifest(int index)
    {
        JsonElement c = Cases.Value[index];
        PromptTokens actual = Tokenizer.Value.Encode(c.GetProperty("prompt").GetString()!);

        Assert.Equal(c.GetProperty("truncated").GetBoolean(), actual.Truncated);
        Assert.Equal(actual.Truncated, actual.TruncatedText is not null);
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void PromptTokensWithoutBosEosEqualOpenAiSimpleTokenizer(int index)
    {
        // Cross-check: openai/CLIP SimpleTokenizer.encode ids (no BOS/EOS, untruncated) for prompts where the
        // manifest says they equal transformers' ids.
        JsonElement c = Cases.Value[index];
        if (!c.GetProperty("simpletokenizer_matches").GetBoolean()) return;
        int[] expected = c.GetProperty("openai_clip_simpletokenizer_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        PromptTokens actual = Tokenizer.Value.Encode(c.GetProperty("prompt").GetString()!);

        Assert.Equal(expected.Length + 2, actual.Count);
        Assert.Equal(expected.Take(75), actual.Ids.Skip(1).Take(Math.Min(75, expected.Length)));
    }
}
