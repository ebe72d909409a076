using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Prompts;
using StableDiffusion.Text;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Stage 1 for <see cref="PromptSyntax.A1111"/> prompts (AUTOMATIC1111 v1.10.1's <c>get_learned_conditioning</c>): each
/// distinct prompt's schedule texts are chunked (75 tokens, BREAK, comma back-track) and encoded in one batch per chunk
/// index with emphasis, giving 77·k tokens; the result is the conditioning of step 0 with the
/// <see cref="ConditioningSchedule"/> of every step. CLIP skip applies to prompt and negative prompt alike, as in A1111.
/// </summary>
public sealed class A1111PromptEncodingStage : IPromptEncodingStage
{
    private readonly ClipTokenizer _tokenizer;
    private readonly Func<TextEncoder> _textEncoder;
    private readonly int _steps;
    private readonly A1111Options _options;
    private readonly int _clipSkip;
    private readonly Func<OnnxGraphFile, InferenceSession>? _createSession;

    /// <param name="tokenizer">tokenizer/ (77 tokens).</param>
    /// <param name="textEncoder">text_encoder/, created on first use.</param>
    /// <param name="steps">The steps the schedules are computed for (A1111's <c>steps</c>).</param>
    /// <param name="options">Emphasis mode and cond/uncond padding.</param>
    /// <param name="clipSkip">Layers skipped from the end (diffusers' count; A1111's "Clip skip" is this + 1).</param>
    /// <param name="createSession">Loads the rewritten text encoder that clip skip runs; needed when <paramref name="clipSkip"/> &gt; 0.</param>
    public A1111PromptEncodingStage(ClipTokenizer tokenizer, Func<TextEncoder> textEncoder, int steps, A1111Options options,
        int clipSkip = 0, Func<OnnxGraphFile, InferenceSession>? createSession = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(textEncoder);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(clipSkip);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (clipSkip > 0 && createSession is null)
            throw new ArgumentNullException(nameof(createSession), "Clip skip runs a rewritten text encoder graph: give the function that loads it.");
        if (tokenizer.MaxLength != A1111Chunker.ChunkTokens)
            throw new ArgumentException($"A1111 prompts need a {A1111Chunker.ChunkTokens}-token CLIP tokenizer; this one takes {tokenizer.MaxLength}.", nameof(tokenizer));
        _tokenizer = tokenizer;
        _textEncoder = textEncoder;
        _steps = steps;
        _options = options;
        _clipSkip = clipSkip;
        _createSession = createSession;
    }

    public TimeSpan TokenizeTime { get; private set; }

    /// <exception cref="PromptSyntaxException">A prompt A1111 rejects (an emphasis weight that is no number, an infinite step).</exception>
    /// <exception cref="ArgumentException">A prompt with AND composition (not run by the pipeline).</exception>
    public PromptEmbeddings Encode(IReadOnlyList<ImageRequest> batch, bool guided, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var chunker = new A1111Chunker(_tokenizer, _options.Emphasis);
        var encoded = new Dictionary<string, ScheduledConditioning>(StringComparer.Ordinal);
        var tokenizeTime = TimeSpan.Zero;
        int hidden = 0;

        ScheduledConditioning Conditioning(string text)
        {
            if (encoded.TryGetValue(text, out var known)) return known;
            cancellation.ThrowIfCancellationRequested();
            var tokenizeStart = clock.Elapsed;
            var entries = A1111PromptSchedules.Get(text, _steps);
            var chunks = new A1111ChunkBatch(chunker, entries.Select(e => e.Text).ToArray());
            tokenizeTime += clock.Elapsed - tokenizeStart;
            float[][] z = A1111Conditioning.Encode(chunks, ids => EncodeChunk(ids, cancellation), _options.Emphasis);
            hidden = z[0].Length / (chunks.ChunkCount * A1111Chunker.ChunkTokens);
            var result = new ScheduledConditioning(entries, z);
            encoded[text] = result;
            return result;
        }

        // Extra-network tags are taken out before encoding (their LoRAs were applied by the pipeline); A1111 parses
        // them from the prompts only, so a tag in the negative prompt is encoded as text.
        var cond = batch.Select(r => Conditioning(SinglePrompt(A1111ExtraNetworks.Parse(r.Prompt).Text))).ToArray();
        // The negative prompt is never split at AND (A1111's get_learned_conditioning).
        var uncond = guided ? batch.Select(r => Conditioning(r.NegativePrompt ?? "")).ToArray() : null;
        // A1111 pads with cond_stage_model_empty_prompt: "" encoded on its own.
        float[]? empty = null;
        if (guided && _options.PadCondUncond)
        {
            var alone = new A1111ChunkBatch(chunker, [""]);
            empty = A1111Conditioning.Encode(alone, ids => EncodeChunk(ids, cancellation), _options.Emphasis)[0];
        }
        TokenizeTime = tokenizeTime;
        var schedule = new ConditioningSchedule(cond, uncond, empty, hidden);
        return schedule.At(0);
    }

    /// <summary>The text encoder on one chunk index of a batch: A1111's hidden states for its CLIP skip.</summary>
    private float[] EncodeChunk(int[] ids, CancellationToken cancellation)
    {
        int rows = ids.Length / A1111Chunker.ChunkTokens;
        return _clipSkip == 0
            ? _textEncoder().Encode(ids, rows, A1111Chunker.ChunkTokens, cancellation)
            : _textEncoder().EncodeClipSkip(ids, rows, A1111Chunker.ChunkTokens, _clipSkip, _createSession!, cancellation).Skipped;
    }

    /// <summary>
    /// Refuses, before any model work, a request whose prompt or negative prompt A1111 rejects or the pipeline cannot run:
    /// the same parsing the stage does, without the tokenizer.
    /// </summary>
    /// <exception cref="PromptSyntaxException">A weight that is no number, an infinite step, a bad extra-network tag.</exception>
    /// <exception cref="InvalidSettingException">AND composition in the prompt.</exception>
    public static void Check(ImageRequest request, int steps, EmphasisMode emphasis)
    {
        ArgumentNullException.ThrowIfNull(request);
        var tagged = A1111ExtraNetworks.Parse(request.Prompt);
        LoraTags(tagged, request.Prompt);
        foreach (string text in new[] { SinglePrompt(tagged.Text), request.NegativePrompt ?? "" })
            foreach (var entry in A1111PromptSchedules.Get(text, steps))
                if (emphasis != EmphasisMode.None) A1111AttentionParser.Parse(entry.Text); // "None" reads brackets literally
    }

    /// <summary>
    /// The <c>&lt;lora:...&gt;</c> tags of a prompt, each read and checked; any other extra-network type (hypernet, ...)
    /// is refused rather than silently dropped, since the pipeline runs only LoRAs.
    /// </summary>
    /// <exception cref="PromptSyntaxException">A tag of another type, or a LoRA tag without name or with a bad multiplier.</exception>
    public static IReadOnlyList<LoraPromptTag> LoraTags(ExtraNetworkPrompt tagged, string prompt)
    {
        ArgumentNullException.ThrowIfNull(tagged);
        if (tagged.Networks.Keys.FirstOrDefault(k => k != "lora") is { } other)
            throw new PromptSyntaxException(prompt, "<" + other + ":",
                $"The prompt has an extra-network tag <{other}:...>, but only <lora:name:weight> tags are supported; remove the tag.");
        return tagged.Loras.Select(t => LoraPromptTag.From(t, prompt)).ToList();
    }

    /// <summary>The prompt as the single sub-prompt it must be: AND composition needs a combination the pipeline does not run yet.</summary>
    private static string SinglePrompt(string prompt)
    {
        var composed = A1111Composition.Split(prompt);
        if (composed.Subprompts.Count != 1 || composed.Parts[0][0].Weight != 1.0)
            throw new InvalidSettingException("Prompt", "A1111CompositionUnsupported", prompt,
                $"The prompt '{prompt}' uses A1111's AND composition (or a ':weight' suffix on the whole prompt), which the pipeline does not run yet. " +
                "Remove the AND parts (or the weight), or write the weight as emphasis: (text:1.2).");
        return composed.Subprompts[0];
    }
}
