using StableDiffusion.Text;

namespace StableDiffusion.Prompts;

/// <summary>
/// A1111's prompt chunking for CLIP (<c>modules/sd_hijack_clip.py</c> <c>tokenize_line</c>, v1.10.1): the prompt is split
/// into weighted fragments, each fragment is tokenized on its own, and the tokens fill 75-token chunks that BREAK closes
/// early. When a chunk is full and the next token is not a comma, the tokens after the chunk's last comma move to the next
/// chunk if that comma is at most <see cref="CommaPaddingBacktrack"/> tokens back. Each chunk is padded with EOS and
/// wrapped in BOS … EOS. Textual-inversion embeddings are not looked up here.
/// </summary>
/// <remarks>Thread safety: immutable; <see cref="TokenizeLine"/> may run concurrently (the tokenizer is thread-safe).</remarks>
public sealed class A1111Chunker
{
    /// <summary>Prompt tokens per chunk (A1111's <c>chunk_length</c>); a chunk is this plus BOS and EOS.</summary>
    public const int ChunkLength = 75;

    /// <summary>Token ids per chunk as the text encoder sees them.</summary>
    public const int ChunkTokens = ChunkLength + 2;

    /// <summary>A1111's default for the option "Prompt word wrap length limit" (<c>comma_padding_backtrack</c>).</summary>
    public const int DefaultCommaPaddingBacktrack = 20;

    private const string CommaToken = ",</w>";

    private readonly ClipTokenizer _tokenizer;
    private readonly int? _commaId;

    /// <param name="tokenizer">The model's CLIP tokenizer.</param>
    /// <param name="emphasis">Only <see cref="EmphasisMode.None"/> changes chunking: the prompt is then not parsed.</param>
    /// <param name="commaPaddingBacktrack">How far back (in tokens) a comma may be to move the words after it on; 0 turns it off.</param>
    public A1111Chunker(ClipTokenizer tokenizer, EmphasisMode emphasis = EmphasisMode.Original, int commaPaddingBacktrack = DefaultCommaPaddingBacktrack)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfNegative(commaPaddingBacktrack);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(commaPaddingBacktrack, ChunkLength);
        _tokenizer = tokenizer;
        Emphasis = emphasis;
        CommaPaddingBacktrack = commaPaddingBacktrack;
        _commaId = tokenizer.TryGetTokenId(CommaToken, out int comma) ? comma : null;
    }

    public EmphasisMode Emphasis { get; }

    public int CommaPaddingBacktrack { get; }

    /// <summary>BOS and pad id (SD 1.x pads with EOS: A1111's <c>id_pad = id_end</c>).</summary>
    public int StartId => _tokenizer.BosId;

    public int EndId => _tokenizer.EosId;

    /// <summary>A1111's <c>empty_chunk()</c>: BOS then EOS ×76, all multipliers 1. Pads shorter prompts of a batch.</summary>
    public PromptChunk EmptyChunk()
    {
        var tokens = new int[ChunkTokens];
        Array.Fill(tokens, EndId);
        tokens[0] = StartId;
        var multipliers = new double[ChunkTokens];
        Array.Fill(multipliers, 1.0);
        return new PromptChunk(tokens, multipliers);
    }

    /// <summary>The fragments A1111 tokenizes: the emphasis parse, or the whole line for <see cref="EmphasisMode.None"/>.</summary>
    /// <exception cref="PromptSyntaxException">An emphasis weight is not a number.</exception>
    public IReadOnlyList<PromptFragment> Fragments(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return Emphasis == EmphasisMode.None ? [new PromptFragment(line, 1.0)] : A1111AttentionParser.Parse(line);
    }

    /// <summary>Chunks one prompt line (one schedule text of one AND part).</summary>
    /// <exception cref="PromptSyntaxException">An emphasis weight is not a number.</exception>
    public ChunkedPrompt TokenizeLine(string line)
    {
        var chunks = new List<PromptChunk>();
        var tokens = new List<int>(ChunkLength);
        var multipliers = new List<double>(ChunkLength);
        int tokenCount = 0;
        int lastComma = -1;

        void NextChunk(bool isLast = false)
        {
            tokenCount += isLast ? tokens.Count : ChunkLength;
            var chunkTokens = new int[ChunkTokens];
            var chunkMultipliers = new double[ChunkTokens];
            Array.Fill(chunkTokens, EndId);
            Array.Fill(chunkMultipliers, 1.0);
            chunkTokens[0] = StartId;
            tokens.CopyTo(chunkTokens, 1);
            multipliers.CopyTo(chunkMultipliers, 1);
            chunks.Add(new PromptChunk(chunkTokens, chunkMultipliers));
            tokens.Clear();
            multipliers.Clear();
            lastComma = -1;
        }

        foreach (PromptFragment fragment in Fragments(line))
        {
            if (fragment.IsBreak)
            {
                NextChunk();
                continue;
            }

            foreach (int token in _tokenizer.EncodeUntruncated(fragment.Text))
            {
                if (token == _commaId)
                    lastComma = tokens.Count;
                else if (CommaPaddingBacktrack != 0 && tokens.Count == ChunkLength && lastComma != -1
                         && tokens.Count - lastComma <= CommaPaddingBacktrack)
                {
                    // Move the words after the last comma to the next chunk.
                    int breakLocation = lastComma + 1;
                    int[] relocatedTokens = tokens.GetRange(breakLocation, tokens.Count - breakLocation).ToArray();
                    double[] relocatedMultipliers = multipliers.GetRange(breakLocation, multipliers.Count - breakLocation).ToArray();
                    tokens.RemoveRange(breakLocation, tokens.Count - breakLocation);
                    multipliers.RemoveRange(breakLocation, multipliers.Count - breakLocation);
                    NextChunk();
                    tokens.AddRange(relocatedTokens);
                    multipliers.AddRange(relocatedMultipliers);
                }

                if (tokens.Count == ChunkLength) NextChunk();

                tokens.Add(token);
                multipliers.Add(fragment.Weight);
            }
        }

        if (tokens.Count > 0 || chunks.Count == 0) NextChunk(isLast: true);
        return new ChunkedPrompt(chunks, tokenCount);
    }
}
