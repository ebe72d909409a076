using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Text;
using StableDiffusion.TextualInversion;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Stage 1, diffusers' <c>encode_prompt</c>: tokenize each prompt (and negative prompt when guiding) to the encoder's
/// 77 tokens, run the text encoder once for the batch, return <see cref="PromptEmbeddings"/>.
/// </summary>
public sealed class PromptEncodingStage : IPromptEncodingStage
{
    private readonly ClipTokenizer _tokenizer;
    private readonly Func<TextEncoder> _textEncoder;
    private readonly int _clipSkip;
    private readonly Func<OnnxGraphFile, InferenceSession>? _createSession;

    /// <param name="tokenizer">tokenizer/.</param>
    /// <param name="textEncoder">text_encoder/, created on first use.</param>
    /// <param name="clipSkip">diffusers' clip_skip: layers skipped from the end for the prompt (0 = none).</param>
    /// <param name="createSession">Loads the rewritten text encoder that clip skip runs (the pipeline's session factory); needed when <paramref name="clipSkip"/> &gt; 0.</param>
    public PromptEncodingStage(ClipTokenizer tokenizer, Func<TextEncoder> textEncoder, int clipSkip = 0,
        Func<OnnxGraphFile, InferenceSession>? createSession = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(textEncoder);
        ArgumentOutOfRangeException.ThrowIfNegative(clipSkip);
        if (clipSkip > 0 && createSession is null)
            throw new ArgumentNullException(nameof(createSession), "Clip skip runs a rewritten text encoder graph: give the function that loads it.");
        _tokenizer = tokenizer;
        _textEncoder = textEncoder;
        _clipSkip = clipSkip;
        _createSession = createSession;
    }

    /// <summary>Time spent tokenizing in the last <see cref="Encode"/>.</summary>
    public TimeSpan TokenizeTime { get; private set; }

    public PromptEmbeddings Encode(IReadOnlyList<ImageRequest> batch, bool guided, CancellationToken cancellation)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int b = batch.Count;
        int seq = _tokenizer.MaxLength;
        int rows = guided ? 2 * b : b;
        var ids = new int[rows * seq];
        for (int i = 0; i < b; i++)
        {
            int condRow = guided ? b + i : i;
            // maybe_convert_prompt: a multi-vector textual-inversion token names all its vectors (a no-op without embeddings).
            _tokenizer.Encode(TextualInversionPrompt.Convert(_tokenizer, batch[i].Prompt)).Ids.CopyTo(ids.AsSpan(condRow * seq, seq));
            if (guided) _tokenizer.Encode(TextualInversionPrompt.Convert(_tokenizer, batch[i].NegativePrompt ?? "")).Ids.CopyTo(ids.AsSpan(i * seq, seq));
        }
        TokenizeTime = clock.Elapsed;
        float[] hidden;
        if (_clipSkip == 0)
        {
            hidden = _textEncoder().Encode(ids, rows, seq, cancellation);
        }
        else
        {
            // diffusers skips layers for the prompt only: the negative prompt keeps last_hidden_state. One run gives both.
            var (last, skipped) = _textEncoder().EncodeClipSkip(ids, rows, seq, _clipSkip, _createSession!, cancellation);
            int condStart = guided ? last.Length / 2 : 0;
            skipped.AsSpan(condStart).CopyTo(last.AsSpan(condStart));
            hidden = last;
        }
        return new PromptEmbeddings(hidden, b, seq, hidden.Length / (rows * seq), guided);
    }
}
