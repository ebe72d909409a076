using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.TextualInversion;

namespace StableDiffusion.Pipeline;

// Textual inversion (diffusers' load_textual_inversion): embeddings become added tokens of the prompt's tokenizer and
// rows appended to its text encoder's token-embedding table. The text encoder runs an in-memory copy of its graph with
// the extended table (the .onnx file is never rewritten); SessionOptions.AddInitializer cannot change an initializer's
// shape, and the table grows from [vocab, dim] to [vocab + n, dim].
public sealed partial class StableDiffusionPipeline
{
    private readonly List<TextualInversionEmbedding> _embeddings = [];

    /// <summary>The embeddings added so far, in load order (their tokens' ids follow the vocabulary in this order).</summary>
    public IReadOnlyList<TextualInversionEmbedding> Embeddings
    {
        get
        {
            lock (_embeddings) return _embeddings.ToArray(); // not _runLock: listing need not wait for a generation
        }
    }

    /// <summary>
    /// Refuses an A1111 prompt text that names an embedding of several vectors: A1111 gives such an embedding one token
    /// position per vector, kept within one 75-token chunk, which the A1111 chunker does not do yet (it would encode the
    /// first vector only). A one-vector embedding takes one position, its added token, as in A1111.
    /// </summary>
    /// <exception cref="InvalidSettingException">The text names a multi-vector embedding.</exception>
    public void CheckA1111Embeddings(string setting, string? text)
    {
        if (string.IsNullOrEmpty(text) || !HasEmbeddings) return;
        var multi = Embeddings.Where(e => e.VectorCount > 1).ToDictionary(e => e.Token, StringComparer.Ordinal);
        foreach (string token in Tokenizer.AddedTokensIn(text))
            if (multi.TryGetValue(token, out var embedding))
                throw new InvalidSettingException(setting, "A1111MultiVectorEmbeddingUnsupported", token,
                    $"The {setting} names the embedding '{token}', which has {embedding.VectorCount} vectors; A1111 prompts (-PromptSyntax A1111) " +
                    "support one-vector embeddings only so far. Use -PromptSyntax Plain for this prompt, or a one-vector embedding.");
    }

    private bool HasEmbeddings
    {
        get
        {
            lock (_embeddings) return _embeddings.Count > 0;
        }
    }

    /// <summary>Adds one embedding file (see <see cref="AddEmbeddings"/>); <paramref name="token"/> null: the file's own token, else its base name.</summary>
    public TextualInversionEmbedding AddEmbedding(string path, string? token = null) => AddEmbeddings([(path, token)])[0];

    /// <summary>
    /// Adds embedding files as <c>load_textual_inversion</c> does: each file's n vectors become the tokens
    /// <c>token</c>, <c>token_1</c>, … (ids after the vocabulary, in order), and the text encoder is rebuilt once with
    /// the extended table. Every file and token is checked before the session is rebuilt; on any error nothing is added.
    /// Waits for a generation in progress. SD 1.x/2.x only.
    /// </summary>
    /// <exception cref="TextualInversionException">A file, its vector width or a token cannot be used, or the model cannot take embeddings.</exception>
    /// <exception cref="Weights.SafetensorsFormatException">A file is not a valid safetensors file.</exception>
    /// <exception cref="ModelLoadException">The text encoder cannot be read or rebuilt.</exception>
    /// <exception cref="PipelineDisposedException">The pipeline was disposed.</exception>
    public IReadOnlyList<TextualInversionEmbedding> AddEmbeddings(IReadOnlyList<(string Path, string? Token)> files) => _gate.Run(CancellationToken.None, cancellation =>
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0) return Array.Empty<TextualInversionEmbedding>();
        var loaded = files.Select(f => TextualInversionEmbedding.Load(f.Path, f.Token)).ToArray();
        lock (_runLock)
        {
            RefuseFamily(loaded);
            var table = TokenTable(out OnnxGraphFile _);
            CheckWidths(loaded, table);
            CheckTokens(loaded);

            var all = Embeddings.Concat(loaded).ToArray();
            var encoder = CreateEmbeddedTextEncoder(all);
            if (IsDisposed)
            {
                encoder.Dispose(); // disposed while the session loaded: the release frees the old encoder, not this one
                ThrowIfDisposed();
            }
            Tokenizer.AddTokens(loaded.SelectMany(e => e.Tokens).ToArray());
            lock (_embeddings) _embeddings.AddRange(loaded);
            var old = _textEncoder;
            _textEncoder = encoder;
            old?.Dispose();
            ReleaseIdleSessions(); // low-memory mode: loaded again, extended, at the next prompt
            return (IReadOnlyList<TextualInversionEmbedding>)loaded;
        }
    });

    private string TextEncoderFile => Model.HasTextEncoder ? Model.TextEncoderPath : Model.TextEncoder2Path;

    private TextEncoder LoadEmbeddedTextEncoder()
    {
        TextualInversionEmbedding[] all;
        lock (_embeddings) all = _embeddings.ToArray();
        return CreateEmbeddedTextEncoder(all);
    }

    /// <summary>The text encoder on a copy of its graph whose table has every embedding's rows appended, in order.</summary>
    private TextEncoder CreateEmbeddedTextEncoder(IReadOnlyList<TextualInversionEmbedding> embeddings)
    {
        string path = TextEncoderFile;
        OnnxGraphFile ExtendedGraph()
        {
            var table = TokenTable(out var graph);
            return table.Extend(graph, embeddings.SelectMany(e => e.Vectors).ToArray());
        }
        var session = _sessions.Create(ExtendedGraph(), "text_encoder", null, cudaGraph: false);
        return new TextEncoder(session, path) { GraphSource = ExtendedGraph };
    }

    /// <summary>The token-embedding table of the text encoder file (weights left on disk), checked against the tokenizer.</summary>
    private TokenEmbeddingTable TokenTable(out OnnxGraphFile graph)
    {
        string path = TextEncoderFile;
        try
        {
            graph = OnnxGraphFile.Load(path, loadExternalData: false);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            throw new ModelLoadException(ModelLoadError.InvalidFile, path, $"Textual inversion extends the text encoder graph '{path}', which cannot be read: {e.Message}", e);
        }
        var table = TokenEmbeddingTable.Find(graph)
            ?? throw new TextualInversionException("EmbeddingTableNotFound", TextualInversionProblem.UnsupportedModel, path,
                $"The text encoder '{path}' has no token-embedding table (a Gather of a [vocab, dim] float initializer on input_ids), so " +
                "embeddings cannot be added to it. Use an export of a plain CLIP text model (optimum-cli export onnx).");
        if (table.Rows != Tokenizer.BaseVocabularySize)
            throw new TextualInversionException("EmbeddingTableMismatch", TextualInversionProblem.UnsupportedModel, path,
                $"The text encoder's token-embedding table has {table.Rows} rows but the tokenizer has {Tokenizer.BaseVocabularySize} tokens, " +
                "so added tokens would not get their own rows. The model's tokenizer and text_encoder folders do not belong together.");
        return table;
    }

    private void RefuseFamily(IReadOnlyList<TextualInversionEmbedding> loaded)
    {
        var sdxlFile = loaded.FirstOrDefault(e => e.Vectors2 is not null);
        if (Family == ModelFamily.StableDiffusionXL)
            throw new TextualInversionException("EmbeddingSdxlNotSupported", TextualInversionProblem.UnsupportedModel, (sdxlFile ?? loaded[0]).Path,
                $"Textual inversion is not supported on SDXL models yet ('{Model.Name}'); '{(sdxlFile ?? loaded[0]).Path}' was not added. " +
                "Load an SD 1.x/2.x model to use it.");
        if (sdxlFile is not null)
            throw new TextualInversionException("EmbeddingForSdxl", TextualInversionProblem.UnsupportedModel, sdxlFile.Path,
                $"'{sdxlFile.Path}' is an SDXL embedding (clip_l and clip_g vectors), and '{Model.Name}' is an SD 1.x/2.x model. " +
                "Use an embedding trained for this model's text encoder.");
    }

    private static void CheckWidths(IReadOnlyList<TextualInversionEmbedding> loaded, TokenEmbeddingTable table)
    {
        foreach (var e in loaded)
            if (e.Dimension != table.Dimension)
                throw new TextualInversionException("EmbeddingDimensionMismatch", TextualInversionProblem.InvalidFile, e.Path,
                    $"'{e.Path}' has vectors of {e.Dimension} values, but this model's text encoder takes {table.Dimension} " +
                    $"(SD 1.x: 768, SD 2.x: 1024). The embedding was trained for another model; use one trained for this one.");
    }

    /// <summary>Every token (with its <c>_1</c>, … names) must be new: not in the vocabulary, not added before, not twice in the batch.</summary>
    private void CheckTokens(IReadOnlyList<TextualInversionEmbedding> loaded)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in loaded)
            foreach (string token in e.Tokens)
            {
                if (!Tokenizer.TryGetTokenId(token, out _) && seen.Add(token)) continue;
                var owner = Embeddings.Concat(loaded).FirstOrDefault(x => x != e && x.Tokens.Contains(token));
                throw new TextualInversionException("EmbeddingTokenExists", TextualInversionProblem.TokenConflict, token,
                    $"The token '{token}' (from '{e.Path}') is already " +
                    (owner is not null ? $"taken by the embedding '{owner.Path}'" : "a word of the tokenizer's vocabulary") +
                    ". Pass another token (Add-SdEmbedding -Token '<my-name>'); diffusers refuses it the same way.");
            }
    }
}
