using StableDiffusion.Models;
using StableDiffusion.Text;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Stage 1, diffusers' <c>encode_prompt</c>: tokenize each prompt (and negative prompt when guiding) to the encoder's
/// 77 tokens, run the text encoder once for the batch, return <see cref="PromptEmbeddings"/>.
/// </summary>
public sealed class PromptEncodingStage(ClipTokenizer tokenizer, Func<TextEncoder> textEncoder) : IPromptEncodingStage
{
    /// <summary>Time spent tokenizing in the last <see cref="Encode"/>.</summary>
    public TimeSpan TokenizeTime { get; private set; }

    public PromptEmbeddings Encode(IReadOnlyList<ImageRequest> batch, bool guided, CancellationToken cancellation)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int b = batch.Count;
        int seq = tokenizer.MaxLength;
        int rows = guided ? 2 * b : b;
        var ids = new int[rows * seq];
        for (int i = 0; i < b; i++)
        {
            int condRow = guided ? b + i : i;
            tokenizer.Encode(batch[i].Prompt).Ids.CopyTo(ids.AsSpan(condRow * seq, seq));
            if (guided) tokenizer.Encode(batch[i].NegativePrompt ?? "").Ids.CopyTo(ids.AsSpan(i * seq, seq));
        }
        TokenizeTime = clock.Elapsed;
        var hidden = textEncoder().Encode(ids, rows, seq, cancellation);
        return new PromptEmbeddings(hidden, b, seq, hidden.Length / (rows * seq), guided);
    }
}
