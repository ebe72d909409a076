using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace StableDiffusion.Text;

/// <summary>
/// CLIP's BPE tokenizer, giving the same ids as transformers' slow <c>CLIPTokenizer</c> (4.25.1) with ftfy 6.1.1
/// installed, called as diffusers calls it (pad/truncate to <see cref="MaxLength"/>).
/// </summary>
/// <remarks>
/// The byte-pair merging is Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> (byte-level, "&lt;/w&gt;" end-of-word
/// suffix); CLIP's text clean-up and pre-tokenization are supplied as <see cref="ClipTextNormalizer"/> and
/// <see cref="ClipPreTokenizer"/>. As in transformers, the configured special-token strings (bos/eos/pad/unk) are first
/// split out of the raw prompt and every other piece is cleaned and tokenized on its own.
/// Not reproduced: ftfy's mojibake repair (<c>fix_encoding</c>), see <see cref="FtfyTextFixer"/>.
/// Thread safety: <see cref="Encode(string)"/> and <see cref="Normalize"/> may be called concurrently from any number of
/// threads (BpeTokenizer's word cache is locked); <see cref="AddTokens"/> (textual inversion) replaces the split table
/// whole, so an Encode sees the tokens of before or after the call, never half of them.
/// </remarks>
public sealed class ClipTokenizer
{
    // transformers' CLIPTokenizer reads only merges.txt lines [1 : 49152 - 256 - 2 + 1] (CLIP's 48,894 merges).
    private const int MaxMerges = 49152 - 256 - 2;
    private const int DefaultMaxLength = 77;
    private const string DefaultBos = "<|startoftext|>";
    private const string DefaultEos = "<|endoftext|>";

    private readonly BpeTokenizer _bpe;
    // The strings split out of the raw prompt before cleaning: the special tokens, then the added tokens (textual
    // inversion). Replaced whole when tokens are added, so a concurrent Encode sees one consistent table.
    private volatile SplitTable _split;
    private readonly object _addLock = new();
    private readonly string[] _idToToken;
    private readonly Dictionary<string, int> _vocab;

    private ClipTokenizer(BpeTokenizer bpe, Dictionary<string, int> vocab, int maxLength, int bosId, int eosId, int padId,
        Dictionary<string, int> specialIds)
    {
        _bpe = bpe;
        MaxLength = maxLength;
        BosId = bosId;
        EosId = eosId;
        PadId = padId;
        _split = new SplitTable(specialIds, []);
        _vocab = vocab;
        _idToToken = new string[vocab.Values.Max() + 1];
        foreach (var (token, id) in vocab) _idToToken[id] = token;
    }

    /// <summary>Sequence length of <see cref="PromptTokens.Ids"/> (tokenizer_config.json model_max_length; default 77).</summary>
    public int MaxLength { get; }

    /// <summary>Id of the beginning-of-sequence token (<c>&lt;|startoftext|&gt;</c> = 49406 in CLIP).</summary>
    public int BosId { get; }

    /// <summary>Id of the end-of-sequence token (<c>&lt;|endoftext|&gt;</c> = 49407 in CLIP).</summary>
    public int EosId { get; }

    /// <summary>Id used to pad to <see cref="MaxLength"/> (Stable Diffusion 1.x pads with <c>&lt;|endoftext|&gt;</c>).</summary>
    public int PadId { get; }

    /// <summary>
    /// Loads a Hugging Face CLIP tokenizer folder: <c>vocab.json</c> and <c>merges.txt</c> (required), and
    /// <c>tokenizer_config.json</c> / <c>special_tokens_map.json</c> (optional; the latter wins, as in transformers)
    /// for model_max_length and the bos/eos/pad/unk tokens.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">vocab.json or merges.txt is missing.</exception>
    /// <exception cref="FormatException">A file is not in the expected format; the message names the file.</exception>
    public static ClipTokenizer FromDirectory(string tokenizerDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenizerDirectory);
        if (!Directory.Exists(tokenizerDirectory))
            throw new DirectoryNotFoundException($"The tokenizer folder '{tokenizerDirectory}' does not exist. Pass the model's 'tokenizer' folder (it holds vocab.json and merges.txt).");

        string vocabPath = RequireFile(tokenizerDirectory, "vocab.json");
        string mergesPath = RequireFile(tokenizerDirectory, "merges.txt");
        Dictionary<string, int> vocab = ReadVocabulary(vocabPath);
        List<string> merges = ReadMerges(mergesPath);

        var settings = new TokenizerSettings();
        settings.ReadFrom(Path.Combine(tokenizerDirectory, "tokenizer_config.json"), readMaxLength: true);
        settings.ReadFrom(Path.Combine(tokenizerDirectory, "special_tokens_map.json"), readMaxLength: false);

        int bosId = LookUp(vocab, settings.Bos, "bos_token", vocabPath);
        int eosId = LookUp(vocab, settings.Eos, "eos_token", vocabPath);
        int padId = LookUp(vocab, settings.Pad, "pad_token", vocabPath);
        _ = LookUp(vocab, settings.Unk, "unk_token", vocabPath);

        // transformers splits the configured special tokens (bos/eos/pad/unk) out of the raw prompt and never cuts them
        // (with SD 2.x's pad_token "!" that includes "!"); inside a piece, CLIP's bpe() maps only the two literal
        // strings <|startoftext|> and <|endoftext|> to themselves.
        var specialIds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string token in new[] { settings.Bos, settings.Eos, settings.Pad, settings.Unk })
            specialIds[token] = vocab[token];
        var bpeLiterals = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string token in new[] { DefaultBos, DefaultEos })
            if (vocab.TryGetValue(token, out int id)) bpeLiterals[token] = id;

        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = true,
                EndOfWordSuffix = "</w>",
                UnknownToken = settings.Unk,
                SpecialTokens = bpeLiterals,
                Normalizer = ClipTextNormalizer.Instance,
                PreTokenizer = ClipPreTokenizer.Instance,
            });
        }
        catch (InvalidOperationException e)
        {
            throw new FormatException($"'{mergesPath}' does not match '{vocabPath}': {e.Message}", e);
        }

        return new ClipTokenizer(bpe, vocab, settings.MaxLength, bosId, eosId, padId, specialIds);
    }

    /// <summary>
    /// The cleaned text CLIP tokenizes: <c>ftfy.fix_text</c> (see <see cref="FtfyTextFixer"/>), whitespace runs collapsed
    /// to one space and stripped, then Python's <c>str.lower()</c>. Special-token strings are not treated specially here.
    /// </summary>
    public string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return ClipTextNormalizer.Instance.Normalize(text);
    }

    /// <summary>Tokenizes one prompt (thread-safe).</summary>
    public PromptTokens Encode(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var ids = new List<int>();
        var tokens = new List<string>();
        Tokenize(prompt, ids, tokens);

        int keep = Math.Min(ids.Count, MaxLength - 2);
        var padded = new int[MaxLength];
        padded[0] = BosId;
        ids.CopyTo(0, padded, 1, keep);
        padded[keep + 1] = EosId;
        Array.Fill(padded, PadId, keep + 2, MaxLength - keep - 2);

        int count = ids.Count + 2;
        bool truncated = count > MaxLength;
        // diffusers: batch_decode(untruncated_ids[:, model_max_length - 1 : -1]), i.e. every token after the first
        // MaxLength - 2, decoded with transformers' clean_up_tokenization.
        string? removed = truncated
            ? CleanUpTokenization(ByteLevelAlphabet.TokensToString(ids.Skip(keep).Select(TokenText)))
            : null;
        return new PromptTokens(padded, tokens.ToArray(), count, truncated, removed);
    }

    /// <summary>
    /// The token ids of <paramref name="text"/> alone: no BOS/EOS, no padding, no truncation (transformers'
    /// <c>tokenizer(text, truncation=False, add_special_tokens=False).input_ids</c>, as A1111 tokenizes prompt fragments).
    /// </summary>
    public int[] EncodeUntruncated(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        Tokenize(text, ids, tokens: null);
        return ids.ToArray();
    }

    /// <summary>The id of a vocabulary entry written as in vocab.json (e.g. ",&lt;/w&gt;"), if the vocabulary has it.</summary>
    public bool TryGetTokenId(string token, out int id)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _vocab.TryGetValue(token, out id) || _split.TryGetAddedId(token, out id);
    }

    /// <summary>Entries of vocab.json (49408 in CLIP): the first added token's id.</summary>
    public int BaseVocabularySize => _idToToken.Length;

    /// <summary>transformers' <c>len(tokenizer)</c>: the vocabulary plus the added tokens.</summary>
    public int VocabularySize => _idToToken.Length + _split.Added.Count;

    /// <summary>The added tokens (textual inversion) in id order, from <see cref="BaseVocabularySize"/> up.</summary>
    public IReadOnlyList<string> AddedTokens => _split.Added;

    /// <summary>
    /// transformers' <c>add_tokens</c>: appends <paramref name="tokens"/> after the vocabulary (and the tokens added before)
    /// and returns their ids. Like the slow tokenizer, <see cref="Encode(string)"/> then splits them out of the raw text,
    /// case-sensitively and longest first, before cleaning and BPE.
    /// </summary>
    /// <exception cref="ArgumentException">A token is empty, repeated, already in the vocabulary or already added.</exception>
    public int[] AddTokens(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        lock (_addLock)
        {
            var current = _split;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (string token in tokens)
            {
                if (string.IsNullOrEmpty(token)) throw new ArgumentException("An added token cannot be empty.", nameof(tokens));
                if (!seen.Add(token) || _vocab.ContainsKey(token) || current.Ids.ContainsKey(token))
                    throw new ArgumentException($"The token '{token}' is already in the tokenizer.", nameof(tokens));
            }
            int first = VocabularySize;
            _split = current.With(tokens, first);
            return Enumerable.Range(first, tokens.Count).ToArray();
        }
    }

    /// <summary>The added tokens <paramref name="text"/> holds, in order (as the prompt is split before BPE).</summary>
    public IReadOnlyList<string> AddedTokensIn(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var split = _split;
        if (split.Added.Count == 0) return [];
        return SplitSpecialTokens(text, split).Where(p => p.IsSpecial && split.IsAdded(p.Piece)).Select(p => p.Piece).ToArray();
    }

    /// <summary>Special-token split, then byte-level BPE of every other piece; <paramref name="tokens"/> may be null.</summary>
    private void Tokenize(string text, List<int> ids, List<string>? tokens)
    {
        var split = _split;
        foreach (var (piece, isSpecial) in SplitSpecialTokens(text, split))
        {
            if (isSpecial)
            {
                ids.Add(split.Ids[piece]);
                tokens?.Add(piece);
                continue;
            }

            foreach (EncodedToken token in _bpe.EncodeToTokens(piece, out _))
            {
                ids.Add(token.Id);
                tokens?.Add(token.Value);
            }
        }
    }

    /// <summary>Tokenizes several prompts (each independently, in order).</summary>
    public IReadOnlyList<PromptTokens> Encode(IEnumerable<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        return prompts.Select(Encode).ToArray();
    }

    /// <summary>transformers' Trie.split over the special-token strings: exact, case-sensitive, leftmost-longest.</summary>
    private static IEnumerable<(string Piece, bool IsSpecial)> SplitSpecialTokens(string text, SplitTable split)
    {
        string[] candidates = split.LongestFirst;
        int start = 0, i = 0;
        while (i < text.Length)
        {
            string? hit = null;
            if (split.FirstChars.Contains(text[i]))
                hit = candidates.FirstOrDefault(s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0);
            if (hit is null)
            {
                i++;
                continue;
            }

            if (i > start) yield return (text[start..i], false);
            yield return (hit, true);
            i += hit.Length;
            start = i;
        }

        if (start < text.Length) yield return (text[start..], false);
    }

    /// <summary>An id's token text (an added token as written).</summary>
    private string TokenText(int id) => id < _idToToken.Length ? _idToToken[id] : _split.Added[id - _idToToken.Length];

    /// <summary>The split-out strings: special tokens (fixed) and added tokens (ids after the vocabulary, in order).</summary>
    private sealed class SplitTable
    {
        public SplitTable(IReadOnlyDictionary<string, int> ids, IReadOnlyList<string> added)
        {
            Ids = new Dictionary<string, int>(ids, StringComparer.Ordinal);
            Added = added;
            LongestFirst = Ids.Keys.OrderByDescending(k => k.Length).ThenBy(k => k, StringComparer.Ordinal).ToArray();
            FirstChars = LongestFirst.Select(k => k[0]).ToHashSet();
        }

        public Dictionary<string, int> Ids { get; }
        public IReadOnlyList<string> Added { get; }
        public string[] LongestFirst { get; }
        public HashSet<char> FirstChars { get; }

        public bool IsAdded(string piece) => Added.Contains(piece);

        public bool TryGetAddedId(string token, out int id)
        {
            id = 0;
            return IsAdded(token) && Ids.TryGetValue(token, out id);
        }

        public SplitTable With(IReadOnlyList<string> tokens, int firstId)
        {
            var ids = new Dictionary<string, int>(Ids, StringComparer.Ordinal);
            for (int i = 0; i < tokens.Count; i++) ids[tokens[i]] = firstId + i;
            return new SplitTable(ids, [.. Added, .. tokens]);
        }
    }

    /// <summary>transformers 4.25.1 <c>PreTrainedTokenizerBase.clean_up_tokenization</c> (decode's default).</summary>
    internal static string CleanUpTokenization(string text) =>
        text.Replace(" .", ".", StringComparison.Ordinal).Replace(" ?", "?", StringComparison.Ordinal)
            .Replace(" !", "!", StringComparison.Ordinal).Replace(" ,", ",", StringComparison.Ordinal)
            .Replace(" ' ", "'", StringComparison.Ordinal).Replace(" n't", "n't", StringComparison.Ordinal)
            .Replace(" 'm", "'m", StringComparison.Ordinal).Replace(" 's", "'s", StringComparison.Ordinal)
            .Replace(" 've", "'ve", StringComparison.Ordinal).Replace(" 're", "'re", StringComparison.Ordinal);

    private static string RequireFile(string directory, string name)
    {
        string path = Path.Combine(directory, name);
        if (!File.Exists(path))
            throw new FileNotFoundException($"The CLIP tokenizer file '{path}' is missing; a tokenizer folder needs vocab.json and merges.txt.", path);
        return path;
    }

    private static Dictionary<string, int> ReadVocabulary(string path)
    {
        Dictionary<string, int>? vocab;
        try
        {
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(path, Encoding.UTF8));
        }
        catch (JsonException e)
        {
            throw new FormatException($"'{path}' is not a JSON object mapping token strings to integer ids: {e.Message}", e);
        }

        if (vocab is null || vocab.Count == 0)
            throw new FormatException($"'{path}' holds no vocabulary entries.");
        if (vocab.Values.Any(id => id < 0))
            throw new FormatException($"'{path}' contains a negative token id.");
        return vocab;
    }

    private static List<string> ReadMerges(string path)
    {
        // Python: merges_handle.read().strip().split("\n")[1 : 48895], each line split on whitespace into a pair.
        string[] lines = PythonText.Strip(File.ReadAllText(path, Encoding.UTF8)).Split('\n');
        var merges = new List<string>(Math.Min(lines.Length, MaxMerges));
        for (int i = 1; i < lines.Length && i <= MaxMerges; i++)
        {
            string[] parts = lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
                throw new FormatException($"'{path}' line {i + 1} is not a merge of two tokens separated by a space: '{lines[i].TrimEnd()}'.");
            merges.Add(parts[0] + " " + parts[1]);
        }

        if (merges.Count == 0)
            throw new FormatException($"'{path}' holds no merges (expected a '#version' line followed by one 'left right' pair per line).");
        return merges;
    }

    private static int LookUp(Dictionary<string, int> vocab, string token, string role, string vocabPath) =>
        vocab.TryGetValue(token, out int id)
            ? id
            : throw new FormatException($"The {role} '{token}' is not in '{vocabPath}'.");

    /// <summary>model_max_length and special tokens from tokenizer_config.json / special_tokens_map.json.</summary>
    private sealed class TokenizerSettings
    {
        public int MaxLength = DefaultMaxLength;
        public string Bos = DefaultBos;
        public string Eos = DefaultEos;
        public string Pad = DefaultEos;
        public string Unk = DefaultEos;

        public void ReadFrom(string path, bool readMaxLength)
        {
            if (!File.Exists(path)) return;
            try
            {
                using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path, Encoding.UTF8));
                JsonElement root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    throw new FormatException($"'{path}' must hold a JSON object.");
                if (readMaxLength && root.TryGetProperty("model_max_length", out JsonElement max) && max.ValueKind != JsonValueKind.Null)
                {
                    if (max.ValueKind != JsonValueKind.Number || !max.TryGetInt32(out int value) || value < 3)
                        throw new FormatException($"'{path}' has model_max_length {max.GetRawText()}; expected an integer of at least 3 (CLIP uses 77).");
                    MaxLength = value;
                }

                Bos = TokenText(root, "bos_token", path) ?? Bos;
                Eos = TokenText(root, "eos_token", path) ?? Eos;
                Pad = TokenText(root, "pad_token", path) ?? Pad;
                Unk = TokenText(root, "unk_token", path) ?? Unk;
            }
            catch (JsonException e)
            {
                throw new FormatException($"'{path}' is not valid JSON: {e.Message}", e);
            }
        }

        // A token is written either as a string or as an AddedToken object with a "content" string.
        private static string? TokenText(JsonElement root, string name, string path)
        {
            if (!root.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
            if (value.ValueKind == JsonValueKind.String) return value.GetString();
            if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out JsonElement content)
                && content.ValueKind == JsonValueKind.String)
                return content.GetString();
            throw new FormatException($"'{path}' has an unreadable {name}: {value.GetRawText()}.");
        }
    }
}
