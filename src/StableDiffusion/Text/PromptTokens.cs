namespace StableDiffusion.Text;

/// <summary>
/// One prompt tokenized the way diffusers calls CLIP's tokenizer
/// (<c>tokenizer(prompt, padding="max_length", max_length=tokenizer.model_max_length, truncation=True)</c>).
/// </summary>
/// <param name="Ids">
/// Exactly <see cref="ClipTokenizer.MaxLength"/> ids: BOS, at most MaxLength − 2 prompt tokens, EOS, then the pad id.
/// </param>
/// <param name="Tokens">
/// Every BPE token of the prompt, untruncated, without BOS/EOS, as vocabulary strings: CLIP's byte-level alphabet
/// with "&lt;/w&gt;" marking a word end (e.g. "cat&lt;/w&gt;"; "é" is written "Ã©&lt;/w&gt;"), as transformers'
/// <c>tokenize()</c> returns them.
/// </param>
/// <param name="Count">
/// The untruncated sequence length <em>including</em> BOS and EOS (Tokens.Length + 2) — the length of
/// <c>tokenizer(prompt).input_ids</c> without truncation, as the fixture manifest's <c>untruncated_length</c>.
/// </param>
/// <param name="Truncated">True when <paramref name="Count"/> exceeds MaxLength, i.e. tokens were dropped.</param>
/// <param name="TruncatedText">
/// The dropped part as diffusers' warning shows it (<c>tokenizer.batch_decode</c> of the removed ids); null when
/// nothing was dropped.
/// </param>
public sealed record PromptTokens(int[] Ids, string[] Tokens, int Count, bool Truncated, string? TruncatedText);
