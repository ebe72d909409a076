using StableDiffusion.Models;
using StableDiffusion.Text;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Stage 1 for SDXL, diffusers 0.35.2 <c>StableDiffusionXLPipeline.encode_prompt</c> (also the Img2Img and refiner
/// pipelines'): each encoder's <c>hidden_states[-2]</c> (the prompt's <c>[-(clip_skip + 2)]</c>), concatenated on the
/// last axis (text_encoder first), and text_encoder_2's <c>text_embeds</c> as <see cref="PromptEmbeddings.Pooled"/>.
/// </summary>
/// <remarks>
/// Without the first encoder (the refiner) only tokenizer_2/text_encoder_2 run, on <see cref="ImageRequest.Prompt"/>
/// and <see cref="ImageRequest.NegativePrompt"/>: diffusers zips the prompts with the encoders present, so
/// <c>prompt_2</c> is ignored there. With guidance, a null negative prompt gives zero embeddings (prompt and pooled)
/// when <c>force_zeros_for_empty_prompt</c>, else it is encoded as "". Rows that share a hidden-state index are
/// encoded in one call per encoder.
/// </remarks>
public sealed class SdxlPromptEncodingStage : IPromptEncodingStage
{
    // diffusers reads hidden_states[-2] for the negative prompt whatever clip_skip is (0.35.2 code).
    private const int NegativeLayer = -2;

    private readonly ClipTokenizer? _tokenizer;
    private readonly Func<TextEncoder>? _textEncoder;
    private readonly ClipTokenizer _tokenizer2;
    private readonly Func<TextEncoder> _textEncoder2;
    private readonly bool _forceZerosForEmptyPrompt;
    private readonly int _promptLayer;

    /// <param name="tokenizer">tokenizer/ (pads with EOS); null for the refiner, with <paramref name="textEncoder"/>.</param>
    /// <param name="textEncoder">text_encoder/ (CLIP ViT-L), created on first use; null for the refiner.</param>
    /// <param name="tokenizer2">tokenizer_2/ (pads with "!").</param>
    /// <param name="textEncoder2">text_encoder_2/ (OpenCLIP bigG with projection: gives the pooled embeddings).</param>
    /// <param name="forceZerosForEmptyPrompt">model_index.json's force_zeros_for_empty_prompt (base: true, refiner: false).</param>
    /// <param name="clipSkip">diffusers' clip_skip: layers skipped from the end for the prompt (0 = none).</param>
    public SdxlPromptEncodingStage(ClipTokenizer? tokenizer, Func<TextEncoder>? textEncoder, ClipTokenizer tokenizer2,
        Func<TextEncoder> textEncoder2, bool forceZerosForEmptyPrompt, int clipSkip = 0)
    {
        ArgumentNullException.ThrowIfNull(tokenizer2);
        ArgumentNullException.ThrowIfNull(textEncoder2);
        ArgumentOutOfRangeException.ThrowIfNegative(clipSkip);
        if ((tokenizer is null) != (textEncoder is null))
            throw new ArgumentException("The first tokenizer and text encoder come together: pass both or neither (refiner).", nameof(tokenizer));
        if (tokenizer is not null && tokenizer.MaxLength != tokenizer2.MaxLength)
            throw new ArgumentException(
                $"The tokenizers pad to different lengths ({tokenizer.MaxLength} and {tokenizer2.MaxLength}); SDXL concatenates their embeddings token by token.",
                nameof(tokenizer2));
        _tokenizer = tokenizer;
        _textEncoder = textEncoder;
        _tokenizer2 = tokenizer2;
        _textEncoder2 = textEncoder2;
        _forceZerosForEmptyPrompt = forceZerosForEmptyPrompt;
        _promptLayer = -(clipSkip + 2);
    }

    /// <inheritdoc />
    public TimeSpan TokenizeTime { get; private set; }

    /// <inheritdoc />
    public PromptEmbeddings Encode(IReadOnlyList<ImageRequest> batch, bool guided, CancellationToken cancellation)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var tokens = Tokenize(batch, guided);
        TokenizeTime = clock.Elapsed;

        int b = batch.Count;
        int seq = _tokenizer2.MaxLength;
        var groups = Groups(tokens.Second, guided ? b : 0);
        var first = tokens.First is null ? null : Run(_textEncoder!(), tokens.First, groups, seq, pooled: false, cancellation);
        var second = Run(_textEncoder2(), tokens.Second, groups, seq, pooled: true, cancellation);

        int rows = tokens.Second.Length;
        int width1 = first is null ? 0 : first[0].Output.HiddenSize;
        int width = width1 + second[0].Output.HiddenSize;
        int pooledSize = second[0].Output.PooledSize;
        var hidden = new float[rows * seq * width]; // zeroed negative rows stay 0
        var pooled = new float[rows * pooledSize];
        if (first is not null) Scatter(first, hidden, seq, width, 0, null, 0);
        Scatter(second, hidden, seq, width, width1, pooled, pooledSize);
        return new PromptEmbeddings(hidden, b, seq, width, guided) { Pooled = pooled };
    }

    /// <summary>
    /// The tokens each encoder gets for <paramref name="batch"/>: <c>prompt_2</c>/<c>negative_prompt_2</c> default to the
    /// prompt/negative prompt, a null negative prompt is zeroed (force_zeros_for_empty_prompt) or encoded as "".
    /// </summary>
    public SdxlPromptTokens Tokenize(IReadOnlyList<ImageRequest> batch, bool guided)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0) throw new ArgumentException("The batch holds no image.", nameof(batch));
        int b = batch.Count;
        int rows = guided ? 2 * b : b;
        var first = _tokenizer is null ? null : new PromptTokens?[rows];
        var second = new PromptTokens?[rows];
        for (int i = 0; i < b; i++)
        {
            var request = batch[i];
            int cond = guided ? b + i : i;
            // The refiner zips [prompt, prompt_2] with its one encoder: tokenizer_2 gets the prompt.
            second[cond] = _tokenizer2.Encode(first is null ? request.Prompt : Or(request.Prompt2, request.Prompt));
            if (first is not null) first[cond] = _tokenizer!.Encode(request.Prompt);
            if (!guided || (request.NegativePrompt is null && _forceZerosForEmptyPrompt)) continue;
            string negative = Or(request.NegativePrompt, "");
            second[i] = _tokenizer2.Encode(first is null ? negative : Or(request.NegativePrompt2, negative));
            if (first is not null) first[i] = _tokenizer!.Encode(negative);
        }
        return new SdxlPromptTokens(first, second);
    }

    /// <summary>Python's <c>value or fallback</c>: diffusers' defaults treat "" as missing (<c>prompt_2 = prompt_2 or prompt</c>).</summary>
    private static string Or(string? value, string fallback) => string.IsNullOrEmpty(value) ? fallback : value;

    /// <summary>The encoded rows by hidden-state index: one group when clip skip is 0, else the prompt rows and the negative rows.</summary>
    private List<(int[] Rows, int Layer)> Groups(PromptTokens?[] tokens, int firstCondRow)
    {
        var condRows = Enumerable.Range(firstCondRow, tokens.Length - firstCondRow).ToArray();
        var uncondRows = Enumerable.Range(0, firstCondRow).Where(r => tokens[r] is not null).ToArray();
        if (_promptLayer == NegativeLayer)
            return [([.. uncondRows, .. condRows], NegativeLayer)];
        var groups = new List<(int[] Rows, int Layer)> { (condRows, _promptLayer) };
        if (uncondRows.Length > 0) groups.Add((uncondRows, NegativeLayer));
        return groups;
    }

    private static (int[] Rows, TextEncoderOutputs Output)[] Run(TextEncoder encoder, PromptTokens?[] tokens, List<(int[] Rows, int Layer)> groups,
        int seq, bool pooled, CancellationToken cancellation)
    {
        var results = new (int[] Rows, TextEncoderOutputs Output)[groups.Count];
        for (int g = 0; g < groups.Count; g++)
        {
            var (rows, layer) = groups[g];
            var batchIds = new int[rows.Length * seq];
            for (int j = 0; j < rows.Length; j++) tokens[rows[j]]!.Ids.CopyTo(batchIds, j * seq);
            results[g] = (rows, encoder.EncodeAll(batchIds, rows.Length, seq, layer, pooled, cancellation));
        }
        return results;
    }

    /// <summary>Copies each encoded row's tokens into columns [offset, offset + its width) of the concatenated embeddings.</summary>
    private static void Scatter((int[] Rows, TextEncoderOutputs Output)[] results, float[] hidden, int seq, int width, int offset,
        float[]? pooled, int pooledSize)
    {
        foreach (var (rows, output) in results)
        {
            int w = output.HiddenSize;
            for (int j = 0; j < rows.Length; j++)
            {
                for (int t = 0; t < seq; t++)
                    output.HiddenStates.AsSpan((j * seq + t) * w, w).CopyTo(hidden.AsSpan((rows[j] * seq + t) * width + offset, w));
                if (pooled is not null)
                    output.Pooled.AsSpan(j * pooledSize, pooledSize).CopyTo(pooled.AsSpan(rows[j] * pooledSize, pooledSize));
            }
        }
    }
}
