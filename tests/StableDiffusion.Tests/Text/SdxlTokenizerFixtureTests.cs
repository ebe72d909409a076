using System.Text.Json;
using StableDiffusion.Tests.Support;
using StableDiffusion.Text;

namespace StableDiffusion.Tests.Text;

/// <summary>
/// Every prompt of tiny-sdxl/expected/tokenizer/manifest.json through both SDXL tokenizers (transformers 4.25.1, ftfy
/// 6.1.1): tokenizer/ pads with &lt;|endoftext|&gt;, tokenizer_2/ with its own pad token "!" (id 0), which is also split
/// out of the text as a special token. Ids, untruncated tokens and lengths must be exactly equal.
/// </summary>
public sealed class SdxlTokenizerFixtureTests
{
    private static readonly string[] TokenizerNames = ["tokenizer", "tokenizer_2"];

    private static readonly Lazy<Dictionary<string, ClipTokenizer>> Tokenizers = new(() =>
        TokenizerNames.ToDictionary(n => n, n => ClipTokenizer.FromDirectory(Path.Combine(Fixtures.Root, "tiny-sdxl", n))));

    private static readonly Lazy<JsonElement[]> Prompts = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Root, "tiny-sdxl", "expected", "tokenizer", "manifest.json")));
        return doc.RootElement.GetProperty("prompts").EnumerateArray().Select(e => e.Clone()).ToArray();
    });

    public static TheoryData<int, string> Cases()
    {
        var data = new TheoryData<int, string>();
        for (int i = 0; i < Prompts.Value.Length; i++)
            foreach (var name in TokenizerNames) data.Add(i, name);
        return data;
    }

    [Fact]
    public void ManifestHasEightPrompts() => Assert.Equal(8, Prompts.Value.Length);

    [Fact]
    public void PadTokensComeFromEachFolder()
    {
        Assert.Equal(49407, Tokenizers.Value["tokenizer"].PadId);
        Assert.Equal(0, Tokenizers.Value["tokenizer_2"].PadId);
        Assert.Equal(49407, Tokenizers.Value["tokenizer_2"].EosId);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void IdsTokensAndLengthEqualTransformers(int index, string tokenizer)
    {
        var entry = Prompts.Value[index];
        var expected = entry.GetProperty(tokenizer);
        var actual = Tokenizers.Value[tokenizer].Encode(entry.GetProperty("prompt").GetString()!);

        Assert.Equal(expected.GetProperty("pad_token_id").GetInt32(), Tokenizers.Value[tokenizer].PadId);
        Assert.Equal(expected.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(), actual.Ids);
        Assert.Equal(expected.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!).ToArray(), actual.Tokens);
        Assert.Equal(expected.GetProperty("untruncated_length").GetInt32(), actual.Count);
    }
}
