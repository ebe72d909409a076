using StableDiffusion.Prompts;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>
/// How an A1111 prompt is encoded (Get-SdPromptToken -PromptSyntax A1111): for one schedule text of the prompt, its
/// weighted fragments and its 77-token chunks with one weight per token.
/// </summary>
public sealed class SdA1111PromptTokens
{
    internal SdA1111PromptTokens(string prompt, PromptScheduleEntry entry, IReadOnlyList<PromptFragment> fragments, ChunkedPrompt chunked)
    {
        Prompt = prompt;
        Text = entry.Text;
        EndAtStep = entry.EndAtStep;
        Fragments = fragments.ToArray();
        TokenCount = chunked.TokenCount;
        Chunks = chunked.Chunks.Select((c, i) => new SdA1111PromptChunk(i, c.Tokens, c.Multipliers)).ToArray();
    }

    /// <summary>The prompt as given.</summary>
    public string Prompt { get; }

    /// <summary>The schedule text this object describes (the prompt itself without editing or alternation).</summary>
    public string Text { get; }

    /// <summary>The last sampler step this text is used for (of <see cref="Pipeline.GenerationDefaults.Steps"/> steps).</summary>
    public int EndAtStep { get; }

    /// <summary>The text split by emphasis: each piece with its weight (BREAK is ("BREAK", -1)).</summary>
    public PromptFragment[] Fragments { get; }

    /// <summary>Prompt tokens as A1111 counts them (75 per full chunk plus the last chunk's).</summary>
    public int TokenCount { get; }

    /// <summary>The 77-token windows the text encoder gets (the UNet sees 77 × this many tokens).</summary>
    public SdA1111PromptChunk[] Chunks { get; }

    public int ChunkCount => Chunks.Length;
}

/// <summary>One 77-token chunk: BOS, 75 tokens padded with EOS, EOS; one emphasis weight per token (1 on BOS, EOS, padding).</summary>
public sealed record SdA1111PromptChunk(int Index, int[] Ids, double[] Weights);
