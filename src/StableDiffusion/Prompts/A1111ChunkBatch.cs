namespace StableDiffusion.Prompts;

/// <summary>
/// The texts one A1111 text-encoder call encodes together (<c>process_texts</c> and the chunk loop of <c>forward</c>):
/// usually one prompt, or all schedule texts of an edited prompt. Every text gets <see cref="ChunkCount"/> chunks,
/// the shorter ones padded with <see cref="A1111Chunker.EmptyChunk"/>; chunk index i of all texts is encoded as one
/// batch [texts, 77], so that 'Original' emphasis restores the mean over that batch.
/// </summary>
public sealed class A1111ChunkBatch
{
    private readonly PromptChunk[][] _chunks; // [text][chunk], padded

    /// <exception cref="PromptSyntaxException">An emphasis weight is not a number.</exception>
    public A1111ChunkBatch(A1111Chunker chunker, IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(chunker);
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0) throw new ArgumentException("A chunk batch needs at least one text.", nameof(texts));

        var cache = new Dictionary<string, ChunkedPrompt>(StringComparer.Ordinal);
        var lines = new ChunkedPrompt[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            if (!cache.TryGetValue(texts[i], out ChunkedPrompt? line))
            {
                line = chunker.TokenizeLine(texts[i]);
                cache[texts[i]] = line;
                TokenCount = Math.Max(TokenCount, line.TokenCount);
            }
            lines[i] = line;
        }

        ChunkCount = lines.Max(l => l.Chunks.Count);
        Texts = texts.ToArray();
        Lines = lines;
        _chunks = lines.Select(l => l.Chunks.Concat(Enumerable.Range(0, ChunkCount - l.Chunks.Count).Select(_ => chunker.EmptyChunk())).ToArray()).ToArray();
    }

    public IReadOnlyList<string> Texts { get; }

    /// <summary>Each text's own chunks (before padding) and token count.</summary>
    public IReadOnlyList<ChunkedPrompt> Lines { get; }

    /// <summary>Chunks per text after padding: the most any text needs. The conditioning is 77 × this tokens long.</summary>
    public int ChunkCount { get; }

    /// <summary>The largest token count of the texts (A1111's <c>token_count</c> of the batch).</summary>
    public int TokenCount { get; }

    /// <summary>Empty chunks appended to text <paramref name="text"/>.</summary>
    public int PaddingChunks(int text) => ChunkCount - Lines[text].Chunks.Count;

    /// <summary>Chunk <paramref name="chunk"/> of text <paramref name="text"/> (an empty chunk past the text's own).</summary>
    public PromptChunk Chunk(int text, int chunk) => _chunks[text][chunk];

    /// <summary>The token ids of chunk index <paramref name="chunk"/> for all texts, [texts, 77] row-major.</summary>
    public int[] Tokens(int chunk)
    {
        var ids = new int[Texts.Count * A1111Chunker.ChunkTokens];
        for (int t = 0; t < Texts.Count; t++) _chunks[t][chunk].Tokens.CopyTo(ids, t * A1111Chunker.ChunkTokens);
        return ids;
    }

    /// <summary>The multipliers of chunk index <paramref name="chunk"/> as float32 (torch.asarray of the Python floats), [texts, 77].</summary>
    public float[] Multipliers(int chunk)
    {
        var result = new float[Texts.Count * A1111Chunker.ChunkTokens];
        for (int t = 0; t < Texts.Count; t++)
        {
            double[] m = _chunks[t][chunk].Multipliers;
            for (int k = 0; k < m.Length; k++) result[t * A1111Chunker.ChunkTokens + k] = (float)m[k];
        }
        return result;
    }
}
