using StableDiffusion.Prompts;

namespace StableDiffusion.Tests.Prompts;

/// <summary>Chunking beyond the fixture (tiny-sd tokenizer: "cat" 2368, "dog" 1929, "," 267, "x" 343, "break" 2568).</summary>
public sealed class A1111ChunkerTests
{
    private const int Bos = 49406, Eos = 49407, Cat = 2368, Dog = 1929, Comma = 267, X = 343;

    private static A1111Chunker Chunker(EmphasisMode emphasis = EmphasisMode.Original, int backtrack = 20) =>
        new(A1111ChunkFixtureTests.Tokenizer.Value, emphasis, backtrack);

    private static string Words(string word, int count) => string.Join(' ', Enumerable.Repeat(word, count));

    private static int[] Chunk(params int[] tokens) =>
        [Bos, .. tokens, .. Enumerable.Repeat(Eos, 75 - tokens.Length), Eos];

    private static int[] Repeat(int token, int count) => Enumerable.Repeat(token, count).ToArray();

    [Fact]
    public void WordsAfterANearCommaMoveToTheNextChunk()
    {
        // 70 cats, a comma at index 70, then 10 dogs: the chunk fills at 75 tokens with the comma 5 back, so the
        // 4 dogs after it move on; A1111 counts the first chunk as 75 anyway.
        var line = Chunker().TokenizeLine(Words("cat", 70) + ", " + Words("dog", 10));
        Assert.Equal(2, line.Chunks.Count);
        Assert.Equal(Chunk([.. Repeat(Cat, 70), Comma]), line.Chunks[0].Tokens);
        Assert.Equal(Chunk(Repeat(Dog, 10)), line.Chunks[1].Tokens);
        Assert.Equal(75 + 10, line.TokenCount);
    }

    [Fact]
    public void ABacktrackOfZeroCutsAtSeventyFive()
    {
        var line = Chunker(backtrack: 0).TokenizeLine(Words("cat", 70) + ", " + Words("dog", 10));
        Assert.Equal(Chunk([.. Repeat(Cat, 70), Comma, .. Repeat(Dog, 4)]), line.Chunks[0].Tokens);
        Assert.Equal(Chunk(Repeat(Dog, 6)), line.Chunks[1].Tokens);
        Assert.Equal(75 + 6, line.TokenCount);
    }

    [Fact]
    public void ACommaThatOpensAChunkIsNotRemembered()
    {
        // The 76th token is a comma: it is noted, then the full chunk is flushed (which forgets it), and it opens chunk 2.
        var line = Chunker().TokenizeLine(Words("cat", 75) + ", x");
        Assert.Equal(Chunk(Repeat(Cat, 75)), line.Chunks[0].Tokens);
        Assert.Equal(Chunk(Comma, X), line.Chunks[1].Tokens);
        Assert.Equal(77, line.TokenCount);
    }

    [Fact]
    public void WeightsFollowTheirTokensAcrossTheMove()
    {
        var line = Chunker().TokenizeLine(Words("cat", 70) + ", (" + Words("dog", 10) + ":1.5)");
        Assert.Equal([1.0, .. Enumerable.Repeat(1.0, 71), .. Enumerable.Repeat(1.0, 5)], line.Chunks[0].Multipliers);
        Assert.Equal([1.0, .. Enumerable.Repeat(1.5, 10), .. Enumerable.Repeat(1.0, 66)], line.Chunks[1].Multipliers);
    }

    [Fact]
    public void EmphasisNoneTokenizesTheBracketsAsText()
    {
        var tokenizer = A1111ChunkFixtureTests.Tokenizer.Value;
        var line = Chunker(EmphasisMode.None).TokenizeLine("(cat:1.5) BREAK dog");
        int[] whole = tokenizer.EncodeUntruncated("(cat:1.5) BREAK dog");
        Assert.Single(line.Chunks);
        Assert.Equal(Chunk(whole), line.Chunks[0].Tokens);
        Assert.All(line.Chunks[0].Multipliers, m => Assert.Equal(1.0, m));
        Assert.Contains(2568, whole); // "break" is a word here
    }

    [Fact]
    public void IgnoreStillParsesTheBrackets()
    {
        var line = Chunker(EmphasisMode.Ignore).TokenizeLine("(cat:1.5)");
        Assert.Equal(Chunk(Cat), line.Chunks[0].Tokens);
        Assert.Equal(1.5, line.Chunks[0].Multipliers[1]); // the multiplier is kept; Ignore only skips applying it
    }

    [Fact]
    public void ABatchPadsShorterTextsWithEmptyChunksAndCachesRepeats()
    {
        var batch = new A1111ChunkBatch(Chunker(), ["cat", Words("dog", 80), "cat"]);
        Assert.Equal(2, batch.ChunkCount);
        Assert.Equal(80, batch.TokenCount);
        Assert.Equal(1, batch.PaddingChunks(0));
        Assert.Equal(0, batch.PaddingChunks(1));
        Assert.Same(batch.Lines[0], batch.Lines[2]);
        Assert.Equal(Chunk(), batch.Chunk(0, 1).Tokens);
        Assert.Equal([.. Chunk(), .. Chunk(Repeat(Dog, 5)), .. Chunk()], batch.Tokens(1));
    }
}
