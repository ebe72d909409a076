using StableDiffusion.Tests.Support;
using StableDiffusion.Text;

namespace StableDiffusion.Tests.Text;

public class ClipTokenizerTests
{
    private const int Bos = 49406, Eos = 49407, A = 320; // "a</w>" is 320 (fixture README: "a photo of a cat")

    private static readonly Lazy<ClipTokenizer> Tokenizer =
        new(() => ClipTokenizer.FromDirectory(Path.Combine(Fixtures.TinySd, "tokenizer")));

    private static string TokenizerDir => Path.Combine(Fixtures.TinySd, "tokenizer");

    [Fact]
    public void ReadsSpecialIdsAndLengthFromTheFolder()
    {
        ClipTokenizer t = Tokenizer.Value;
        Assert.Equal(77, t.MaxLength);
        Assert.Equal(Bos, t.BosId);
        Assert.Equal(Eos, t.EosId);
        Assert.Equal(Eos, t.PadId); // pad_token is <|endoftext|> in SD 1.x (special_tokens_map.json)
    }

    [Fact]
    public void EmptyPromptIsBosEosThenPadding()
    {
        PromptTokens p = Tokenizer.Value.Encode("");
        Assert.Equal([Bos, .. Enumerable.Repeat(Eos, 76)], p.Ids);
        Assert.Empty(p.Tokens);
        Assert.Equal(2, p.Count);
        Assert.False(p.Truncated);
        Assert.Null(p.TruncatedText);
    }

    [Fact]
    public void WhitespaceOnlyPromptIsEmpty()
    {
        PromptTokens p = Tokenizer.Value.Encode(" \t\n\u00A0\u3000 ");
        Assert.Equal(2, p.Count);
        Assert.Empty(p.Tokens);
    }

    [Fact]
    public void SeventyFiveTokensFitExactly()
    {
        PromptTokens p = Tokenizer.Value.Encode(string.Join(' ', Enumerable.Repeat("a", 75)));
        Assert.Equal([Bos, .. Enumerable.Repeat(A, 75), Eos], p.Ids);
        Assert.Equal(77, p.Count);
        Assert.False(p.Truncated);
        Assert.Null(p.TruncatedText);
    }

    [Fact]
    public void SeventySixTokensDropTheLastOne()
    {
        PromptTokens p = Tokenizer.Value.Encode(string.Join(' ', Enumerable.Repeat("a", 75)) + " cat");
        Assert.Equal([Bos, .. Enumerable.Repeat(A, 75), Eos], p.Ids);
        Assert.Equal(78, p.Count);
        Assert.True(p.Truncated);
        Assert.Equal("cat", p.TruncatedText);
    }

    [Fact]
    public void VeryLongPromptKeeps75TokensAndReportsTheRest()
    {
        // 40 × "a photo of a cat" = 200 tokens; diffusers decodes ids[76:-1] = tokens 75.. = the last 25 repetitions.
        string prompt = string.Join(' ', Enumerable.Repeat("a photo of a cat", 40));
        PromptTokens p = Tokenizer.Value.Encode(prompt);

        int[] phrase = [320, 1125, 539, 320, 2368];
        Assert.Equal([Bos, .. Enumerable.Repeat(phrase, 15).SelectMany(x => x), Eos], p.Ids);
        Assert.Equal(202, p.Count);
        Assert.Equal(200, p.Tokens.Length);
        Assert.True(p.Truncated);
        Assert.Equal(string.Join(' ', Enumerable.Repeat("a photo of a cat", 25)), p.TruncatedText);
    }

    [Fact]
    public void TruncatedTextIsCleanedUpLikeTransformersDecode()
    {
        // decode() turns each "</w>" into a space ("hello , world ! don 't it 's"), then transformers 4.25.1
        // clean_up_tokenization replaces " ," " !" " 's" (and " n't", " 'm", " 've", " 're", " ." " ?" " ' ") but has
        // no rule for " 't", so "don 't" stays split.
        string prompt = string.Join(' ', Enumerable.Repeat("a", 75)) + " hello, world! don't it's";
        PromptTokens p = Tokenizer.Value.Encode(prompt);
        Assert.True(p.Truncated);
        Assert.Equal("hello, world! don 't it's", p.TruncatedText);
    }

    [Fact]
    public void SpecialTokenStringsInThePromptAreKeptWhole()
    {
        ClipTokenizer t = Tokenizer.Value;
        PromptTokens whole = t.Encode("a photo<|endoftext|>of a cat");
        int[] left = t.Encode("a photo").Ids[1..3];
        int[] right = t.Encode("of a cat").Ids[1..4];
        Assert.Equal([Bos, .. left, Eos, .. right, Eos], whole.Ids[..8]);
        Assert.Equal(8, whole.Count);
    }

    [Fact]
    public void FullWidthAndUpperCaseFoldToTheSameIds()
    {
        // ftfy.fix_character_width maps full-width Latin to ASCII, then CLIP lower-cases.
        ClipTokenizer t = Tokenizer.Value;
        Assert.Equal(t.Encode("a photo of a cat").Ids, t.Encode("Ａ ＰＨＯＴＯ　ＯＦ Ａ ＣＡＴ").Ids);
    }

    [Fact]
    public void CurlyApostropheTokenizesLikeStraightOne()
    {
        // ftfy.uncurl_quotes turns U+2019 into "'", so the "'t" contraction rule applies.
        ClipTokenizer t = Tokenizer.Value;
        Assert.Equal(t.Encode("don't stop").Ids, t.Encode("don\u2019t stop").Ids);
    }

    [Fact]
    public void NormalizeAppliesFtfyWhitespaceAndLowerCase()
    {
        Assert.Equal("don't stop &", Tokenizer.Value.Normalize("  DON\u2019T\t\n STOP &amp;amp; "));
    }

    [Fact]
    public void BatchEncodeKeepsOrder()
    {
        var prompts = new[] { "a photo of a cat", "", "hello, world!" };
        IReadOnlyList<PromptTokens> batch = Tokenizer.Value.Encode(prompts);
        Assert.Equal(3, batch.Count);
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(Tokenizer.Value.Encode(prompts[i]).Ids, batch[i].Ids);
    }

    [Fact]
    public void ConcurrentEncodingGivesTheSameIdsAsSequential()
    {
        ClipTokenizer t = ClipTokenizer.FromDirectory(TokenizerDir);
        string[] prompts = Enumerable.Range(0, 64).Select(i => $"prompt number {i}, a photo of a cat number {i * 7919} ünïcödé 日本語").ToArray();
        int[][] sequential = prompts.Select(p => ClipTokenizer.FromDirectory(TokenizerDir).Encode(p).Ids).ToArray();
        var parallel = new int[prompts.Length][];
        Parallel.For(0, prompts.Length * 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, k =>
        {
            int i = k % prompts.Length;
            parallel[i] = t.Encode(prompts[i]).Ids;
        });
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(sequential[i], parallel[i]);
    }

    [Fact]
    public void MissingVocabularyFileIsReportedByName()
    {
        string dir = TempCopy(except: "vocab.json");
        var e = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromDirectory(dir));
        Assert.Contains("vocab.json", e.Message);
    }

    [Fact]
    public void MissingMergesFileIsReportedByName()
    {
        string dir = TempCopy(except: "merges.txt");
        var e = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromDirectory(dir));
        Assert.Contains("merges.txt", e.Message);
    }

    [Fact]
    public void MissingFolderIsReported()
    {
        Assert.Throws<DirectoryNotFoundException>(() => ClipTokenizer.FromDirectory(Path.Combine(Path.GetTempPath(), "no-such-tokenizer-" + Guid.NewGuid())));
    }

    [Fact]
    public void CorruptVocabularyIsAFormatErrorNamingTheFile()
    {
        string dir = TempCopy(except: "vocab.json");
        File.WriteAllText(Path.Combine(dir, "vocab.json"), "{ \"a\": 1, ");
        var e = Assert.Throws<FormatException>(() => ClipTokenizer.FromDirectory(dir));
        Assert.Contains("vocab.json", e.Message);
    }

    [Fact]
    public void CorruptMergesAreAFormatErrorNamingTheFile()
    {
        string dir = TempCopy(except: "merges.txt");
        File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\nt h\nnot-a-pair\n");
        var e = Assert.Throws<FormatException>(() => ClipTokenizer.FromDirectory(dir));
        Assert.Contains("merges.txt", e.Message);
    }

    [Fact]
    public void CorruptConfigIsAFormatErrorNamingTheFile()
    {
        string dir = TempCopy(except: "tokenizer_config.json");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{ \"model_max_length\": \"seventy-seven\" }");
        var e = Assert.Throws<FormatException>(() => ClipTokenizer.FromDirectory(dir));
        Assert.Contains("tokenizer_config.json", e.Message);
    }

    [Fact]
    public void ConfigFilesAreOptional()
    {
        string dir = TempCopy(except: "tokenizer_config.json");
        File.Delete(Path.Combine(dir, "special_tokens_map.json"));
        ClipTokenizer t = ClipTokenizer.FromDirectory(dir);
        Assert.Equal(77, t.MaxLength);
        Assert.Equal(Tokenizer.Value.Encode("a photo of a cat").Ids, t.Encode("a photo of a cat").Ids);
    }

    [Fact]
    public void ModelMaxLengthComesFromTheConfig()
    {
        string dir = TempCopy(except: "tokenizer_config.json");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{ \"model_max_length\": 8 }");
        PromptTokens p = ClipTokenizer.FromDirectory(dir).Encode("a photo of a cat a photo");
        Assert.Equal([Bos, 320, 1125, 539, 320, 2368, 320, Eos], p.Ids);
        Assert.True(p.Truncated);
        Assert.Equal("photo", p.TruncatedText);
    }

    [Fact]
    public void ConfiguredPadTokenIsNeverSplitLikeTransformers()
    {
        // SD 2.x tokenizers use pad_token "!" (id 0). transformers registers every special token (bos/eos/unk/pad) as
        // a no-split token (sanitize_special_tokens) and cuts it out of the raw prompt before _tokenize, so a typed "!"
        // becomes id 0; a "!" that only appears after ftfy (full-width U+FF01) is ordinary BPE "!</w>" (256).
        string dir = TempCopy(except: "special_tokens_map.json");
        File.WriteAllText(Path.Combine(dir, "special_tokens_map.json"), "{ \"pad_token\": \"!\" }");
        ClipTokenizer t = ClipTokenizer.FromDirectory(dir);
        Assert.Equal(0, t.PadId);
        Assert.Equal([Bos, 3306, 0, Eos, 0], t.Encode("hello!").Ids[..5]);
        Assert.Equal([Bos, 3306, 256, Eos, 0], t.Encode("hello\uFF01").Ids[..5]);
    }

    private static string TempCopy(string except)
    {
        string dir = Path.Combine(Path.GetTempPath(), "clip-tokenizer-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (string file in Directory.GetFiles(TokenizerDir))
            if (Path.GetFileName(file) != except)
                File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return dir;
    }
}
