using StableDiffusion.Weights;

namespace StableDiffusion.TextualInversion;

/// <summary>
/// One textual-inversion embedding read from a <c>.safetensors</c> file, as diffusers' <c>load_textual_inversion</c> reads
/// it: the vectors (float32, [VectorCount, Dimension]) and the tokens they become, <c>Token</c>, <c>Token_1</c>, …
/// </summary>
/// <remarks>
/// Layouts: A1111/civitai <c>emb_params</c>; A1111's <c>string_to_param.*</c> (one tensor); diffusers' learned_embeds (one
/// tensor named by the token); SDXL's <c>clip_l</c> + <c>clip_g</c> (one vector set per text encoder).
/// </remarks>
public sealed record TextualInversionEmbedding
{
    /// <summary>A1111/civitai's single tensor.</summary>
    public const string EmbParamsKey = "emb_params";

    /// <summary>A1111's training output, flattened into safetensors as <c>string_to_param.*</c>.</summary>
    public const string StringToParamPrefix = "string_to_param.";

    /// <summary>SDXL embeddings: the vectors for text_encoder (CLIP-L) and text_encoder_2 (OpenCLIP-G).</summary>
    public const string ClipLKey = "clip_l", ClipGKey = "clip_g";

    public required string Token { get; init; }

    /// <summary>The file the vectors came from (full path).</summary>
    public required string Path { get; init; }

    /// <summary>Which layout the file had: "emb_params", "string_to_param", "diffusers" or "sdxl".</summary>
    public required string Format { get; init; }

    /// <summary>Row-major [VectorCount, Dimension] (SDXL: the clip_l vectors).</summary>
    public required float[] Vectors { get; init; }

    public required int VectorCount { get; init; }

    public required int Dimension { get; init; }

    /// <summary>SDXL: the clip_g vectors, [VectorCount, Dimension2]; else null.</summary>
    public float[]? Vectors2 { get; init; }

    public int Dimension2 { get; init; }

    /// <summary>The tokens added to the tokenizer, in id order: <c>Token</c>, <c>Token_1</c>, … <c>Token_{n-1}</c>.</summary>
    public IReadOnlyList<string> Tokens => TokensFor(Token, VectorCount);

    /// <summary>diffusers' multi-vector naming: <paramref name="token"/>, then <c>token_1</c> … <c>token_{count-1}</c>.</summary>
    public static string[] TokensFor(string token, int count) =>
        Enumerable.Range(0, count).Select(i => i == 0 ? token : $"{token}_{i}").ToArray();

    /// <summary>
    /// Reads an embedding file. The token is <paramref name="token"/> when given, else the diffusers file's tensor name,
    /// else the file's base name (A1111's convention: <c>style.safetensors</c> is the token <c>style</c>).
    /// </summary>
    /// <exception cref="TextualInversionException">The file is missing, or its layout, rank, element type or values cannot be used.</exception>
    /// <exception cref="SafetensorsFormatException">The file is not a valid safetensors file.</exception>
    /// <exception cref="UnsupportedWeightsFormatException">The file is a pickle (.pt/.bin/.ckpt).</exception>
    public static TextualInversionEmbedding Load(string path, string? token = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (token is not null) CheckTokenText(token, path);
        string full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new TextualInversionException("EmbeddingPathIsFolder", TextualInversionProblem.FileNotFound, path,
                $"'{full}' is a folder; give one embedding file (.safetensors). New-SdPipeline -EmbeddingPath loads every file of a folder.");
        SafetensorsFile.RefusePickle(full);
        if (!File.Exists(full))
            throw new TextualInversionException("EmbeddingFileNotFound", TextualInversionProblem.FileNotFound, path,
                $"The embedding file '{full}' does not exist. Give the path of a textual-inversion .safetensors file.");

        using var file = SafetensorsFile.Open(full);
        var names = file.Names.OrderBy(n => n, StringComparer.Ordinal).ToArray();
        if (file.Contains(ClipLKey) || file.Contains(ClipGKey))
        {
            if (!file.Contains(ClipLKey) || !file.Contains(ClipGKey))
                throw Invalid("EmbeddingLayoutUnknown", full,
                    $"'{full}' has only '{(file.Contains(ClipLKey) ? ClipLKey : ClipGKey)}'; an SDXL embedding needs both 'clip_l' and 'clip_g' (one vector set per text encoder).");
            var (l, n, d) = ReadVectors(file, ClipLKey, full);
            var (g, n2, d2) = ReadVectors(file, ClipGKey, full);
            if (n != n2)
                throw Invalid("EmbeddingVectorCountMismatch", full, $"'{full}' has {n} clip_l vectors but {n2} clip_g vectors; both encoders need the same number.");
            return new TextualInversionEmbedding
            {
                Token = token ?? DefaultToken(full), Path = full, Format = "sdxl", Vectors = l, VectorCount = n, Dimension = d, Vectors2 = g, Dimension2 = d2,
            };
        }

        string key, format;
        string? fileToken = null;
        if (file.Contains(EmbParamsKey)) (key, format) = (EmbParamsKey, "emb_params");
        else if (names.Count(n => n.StartsWith(StringToParamPrefix, StringComparison.Ordinal)) == 1)
            (key, format) = (names.Single(n => n.StartsWith(StringToParamPrefix, StringComparison.Ordinal)), "string_to_param");
        else if (names.Length == 1) (key, format, fileToken) = (names[0], "diffusers", names[0]);
        else
            throw Invalid("EmbeddingLayoutUnknown", full,
                $"'{full}' is not a textual-inversion embedding: it has {names.Length} tensors ({Describe(names)}), and an embedding has one " +
                "('emb_params', 'string_to_param.*' or a tensor named by its token) or 'clip_l' + 'clip_g' (SDXL). Is it a LoRA or a model file?");

        var (vectors, count, dim) = ReadVectors(file, key, full);
        string chosen = token ?? fileToken ?? DefaultToken(full);
        CheckTokenText(chosen, full);
        return new TextualInversionEmbedding { Token = chosen, Path = full, Format = format, Vectors = vectors, VectorCount = count, Dimension = dim };
    }

    /// <summary>A token must be non-empty text without whitespace (it is split out of the prompt as written).</summary>
    private static void CheckTokenText(string token, string path)
    {
        if (token.Length == 0 || token.Any(char.IsWhiteSpace) || token.Any(char.IsControl))
            throw new TextualInversionException("EmbeddingTokenInvalid", TextualInversionProblem.TokenConflict, token,
                $"The token '{token}' for '{path}' is empty or holds whitespace or control characters; use one word such as '<my-style>'.");
    }

    private static string DefaultToken(string path) => System.IO.Path.GetFileNameWithoutExtension(path);

    private static (float[] Vectors, int Count, int Dimension) ReadVectors(SafetensorsFile file, string key, string path)
    {
        var info = file[key];
        if (!info.IsReadableFloat)
            throw Invalid("EmbeddingNotFloat", path, $"'{path}' tensor '{key}' is {info.DType}; embedding vectors must be F32, F16 or BF16.");
        // diffusers: a 1-D tensor is one vector; a 2-D tensor is [n_vectors, dim].
        var (count, dim) = info.Shape.Length switch
        {
            1 => (1L, info.Shape[0]),
            2 => (info.Shape[0], info.Shape[1]),
            _ => throw Invalid("EmbeddingRankInvalid", path,
                $"'{path}' tensor '{key}' has shape [{string.Join(", ", info.Shape)}]; an embedding is [dim] or [n_vectors, dim]."),
        };
        if (count < 1 || dim < 1)
            throw Invalid("EmbeddingEmpty", path, $"'{path}' tensor '{key}' has shape [{string.Join(", ", info.Shape)}]: it holds no vectors.");
        if (count > 1000)
            throw Invalid("EmbeddingTooManyVectors", path, $"'{path}' tensor '{key}' has {count} vectors; a prompt holds at most 75 tokens, so this is not an embedding.");
        var values = file.ReadFloats(key);
        int bad = Array.FindIndex(values, v => !float.IsFinite(v));
        if (bad >= 0)
            throw Invalid("EmbeddingNotFinite", path,
                $"'{path}' tensor '{key}' holds {values[bad]} (vector {bad / dim}, element {bad % dim}); the embedding is corrupt. Re-download or re-train it.");
        return (values, (int)count, (int)dim);
    }

    private static string Describe(string[] names) =>
        string.Join(", ", names.Take(5).Select(n => $"'{n}'")) + (names.Length > 5 ? ", …" : "");

    private static TextualInversionException Invalid(string errorId, string path, string message) =>
        new(errorId, TextualInversionProblem.InvalidFile, path, message);
}
