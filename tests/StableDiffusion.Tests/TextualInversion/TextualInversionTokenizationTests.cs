using System.Text.Json;
using StableDiffusion.Tests.Support;
using StableDiffusion.Text;
using StableDiffusion.TextualInversion;

namespace StableDiffusion.Tests.TextualInversion;

/// <summary>
/// The manifest's 7 tokenization cases, exact: maybe_convert_prompt's text, the tokens, and the ids with and without the
/// conversion, on a fixture tokenizer with '&lt;tiny-style&gt;' and '&lt;tiny-style&gt;_1' added.
/// </summary>
public sealed class TextualInversionTokenizationTests
{
    private static ClipTokenizer TokenizerWithEmbedding()
    {
        var tokenizer = ClipTokenizer.FromDirectory(Path.Combine(Fixtures.TinySd, "tokenizer"));
        tokenizer.AddTokens(TextualInversionEmbedding.TokensFor(TinyEmbeddingFixture.Token, 2));
        return tokenizer;
    }

    public static TheoryData<int> CaseIndexes()
    {
        using var manifest = TinyEmbeddingFixture.Manifest();
        var data = new TheoryData<int>();
        for (int i = 0; i < manifest.RootElement.GetProperty("tokenization").GetArrayLength(); i++) data.Add(i);
        return data;
    }

    [Fact]
    public void AddedTokensTakeTheIdsAfterTheVocabulary()
    {
        using var manifest = TinyEmbeddingFixture.Manifest();
        var tokenizer = ClipTokenizer.FromDirectory(Path.Combine(Fixtures.TinySd, "tokenizer"));
        var ids = tokenizer.AddTokens(TextualInversionEmbedding.TokensFor(TinyEmbeddingFixture.Token, 2));
        var expected = manifest.RootElement.GetProperty("checks").GetProperty("added_token_ids");
        Assert.Equal([expected.GetProperty("<tiny-style>").GetInt32(), expected.GetProperty("<tiny-style>_1").GetInt32()], ids);
        Assert.Equal(manifest.RootElement.GetProperty("checks").GetProperty("len_tokenizer").GetInt32(), tokenizer.VocabularySize);
        Assert.True(tokenizer.TryGetTokenId("<tiny-style>_1", out int id));
        Assert.Equal(49409, id);
    }

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void TokenizationMatchesTransformers(int index)
    {
        using var manifest = TinyEmbeddingFixture.Manifest();
        var c = manifest.RootElement.GetProperty("tokenization")[index];
        string prompt = c.GetProperty("prompt").GetString()!;
        var tokenizer = TokenizerWithEmbedding();

        string converted = TextualInversionPrompt.Convert(tokenizer, prompt);
        Assert.Equal(c.GetProperty("maybe_convert_prompt").GetString(), converted);
        var encoded = tokenizer.Encode(converted);
        Assert.Equal(Ints(c.GetProperty("input_ids")), encoded.Ids.ToArray());
        Assert.Equal(c.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!), encoded.Tokens);
        Assert.Equal(Ints(c.GetProperty("input_ids_without_conversion")), tokenizer.Encode(prompt).Ids.ToArray());
    }

    [Fact]
    public void WithoutAddedTokensThePromptIsPlainText()
    {
        var tokenizer = ClipTokenizer.FromDirectory(Path.Combine(Fixtures.TinySd, "tokenizer"));
        Assert.Equal("a <tiny-style> b", TextualInversionPrompt.Convert(tokenizer, "a <tiny-style> b"));
        Assert.Empty(tokenizer.AddedTokensIn("a <tiny-style> b"));
        Assert.DoesNotContain(49408, tokenizer.Encode("a <tiny-style> b").Ids.ToArray());
    }

    [Fact]
    public void AVocabularyWordOrARepeatedTokenIsRefused()
    {
        var tokenizer = TokenizerWithEmbedding();
        Assert.Throws<ArgumentException>(() => tokenizer.AddTokens(["cat</w>"]));
        Assert.Throws<ArgumentException>(() => tokenizer.AddTokens(["<tiny-style>"]));
        Assert.Throws<ArgumentException>(() => tokenizer.AddTokens(["<x>", "<x>"]));
        Assert.Equal(49410, tokenizer.VocabularySize); // nothing added by the refused calls
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
