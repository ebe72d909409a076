namespace StableDiffusion.Pipeline;

/// <summary>
/// The conditioning of each denoising iteration of an A1111 batch (<c>reconstruct_cond_batch</c> and the cond/uncond
/// equalisation of <c>sd_samplers_cfg_denoiser.py</c>): iteration i is A1111's sampler step i. Each distinct combination
/// of schedule entries is assembled once and handed out by reference, so the denoiser binds it to the UNet once.
/// </summary>
public sealed class ConditioningSchedule
{
    private readonly IReadOnlyList<ScheduledConditioning> _cond;
    private readonly IReadOnlyList<ScheduledConditioning>? _uncond;
    private readonly float[]? _emptyPrompt;
    private readonly int _hidden;
    private readonly Dictionary<string, PromptEmbeddings> _assembled = new(StringComparer.Ordinal);

    /// <param name="cond">Per image, its prompt's conditioning.</param>
    /// <param name="uncond">Per image, its negative prompt's conditioning; null without guidance.</param>
    /// <param name="emptyPrompt">The conditioning of "" [77, hidden] that pads the shorter half (pad_cond_uncond), or null: uneven halves then stay uneven.</param>
    /// <param name="hiddenSize">The text encoder's width.</param>
    public ConditioningSchedule(IReadOnlyList<ScheduledConditioning> cond, IReadOnlyList<ScheduledConditioning>? uncond,
        float[]? emptyPrompt, int hiddenSize)
    {
        ArgumentNullException.ThrowIfNull(cond);
        if (uncond is not null && uncond.Count != cond.Count)
            throw new ArgumentException($"{uncond.Count} negative conditionings for {cond.Count} images.", nameof(uncond));
        _cond = cond;
        _uncond = uncond;
        _emptyPrompt = emptyPrompt;
        _hidden = hiddenSize;
    }

    /// <summary>The embeddings of iteration <paramref name="iteration"/>: the same instance for every iteration with the same entries.</summary>
    public PromptEmbeddings At(int iteration)
    {
        string key = string.Join(',', _cond.Select(c => c.EntryAt(iteration))) + ";" +
                     (_uncond is null ? "" : string.Join(',', _uncond.Select(c => c.EntryAt(iteration))));
        if (_assembled.TryGetValue(key, out var known)) return known;
        var assembled = Assemble(iteration);
        _assembled[key] = assembled;
        return assembled;
    }

    /// <summary>How many distinct conditionings the iterations so far asked for.</summary>
    public int DistinctCount => _assembled.Count;

    private PromptEmbeddings Assemble(int step)
    {
        var cond = Rows(_cond, step);
        if (_uncond is null)
            return new PromptEmbeddings(cond.Rows, _cond.Count, cond.Tokens, _hidden, Guided: false) { Schedule = this };
        var uncond = Rows(_uncond, step);
        if (_emptyPrompt is not null && cond.Tokens != uncond.Tokens)
        {
            // pad_cond: the shorter half gets whole copies of the empty prompt's 77 vectors (not its last vector repeated).
            if (cond.Tokens < uncond.Tokens) cond = PadWithEmpty(cond, uncond.Tokens);
            else uncond = PadWithEmpty(uncond, cond.Tokens);
        }
        return new PromptEmbeddings([.. uncond.Rows, .. cond.Rows], _cond.Count, cond.Tokens, _hidden, Guided: true)
        {
            UncondSequenceLength = uncond.Tokens,
            Schedule = this,
        };
    }

    /// <summary>
    /// The images' conditionings of one step stacked; an image with fewer tokens than the longest gets its last vector
    /// repeated, as A1111's reconstruct_cond_batch does within a batch.
    /// </summary>
    private (float[] Rows, int Tokens) Rows(IReadOnlyList<ScheduledConditioning> images, int step)
    {
        var encodings = images.Select(c => c.Encodings[c.EntryAt(step)]).ToArray();
        int tokens = encodings.Max(e => e.Length) / _hidden;
        var rows = new float[images.Count * tokens * _hidden];
        for (int i = 0; i < encodings.Length; i++)
        {
            var row = rows.AsSpan(i * tokens * _hidden, tokens * _hidden);
            encodings[i].CopyTo(row);
            var last = encodings[i].AsSpan(encodings[i].Length - _hidden);
            for (int t = encodings[i].Length / _hidden; t < tokens; t++) last.CopyTo(row.Slice(t * _hidden));
        }
        return (rows, tokens);
    }

    private (float[] Rows, int Tokens) PadWithEmpty((float[] Rows, int Tokens) half, int tokens)
    {
        int images = _cond.Count, emptyTokens = _emptyPrompt!.Length / _hidden;
        if ((tokens - half.Tokens) % emptyTokens != 0)
            throw new InvalidOperationException($"Cannot pad {half.Tokens} tokens to {tokens} with {emptyTokens}-token empty prompts.");
        var rows = new float[images * tokens * _hidden];
        for (int i = 0; i < images; i++)
        {
            var row = rows.AsSpan(i * tokens * _hidden, tokens * _hidden);
            half.Rows.AsSpan(i * half.Tokens * _hidden, half.Tokens * _hidden).CopyTo(row);
            for (int t = half.Tokens; t < tokens; t += emptyTokens) _emptyPrompt.CopyTo(row.Slice(t * _hidden));
        }
        return (rows, tokens);
    }
}
