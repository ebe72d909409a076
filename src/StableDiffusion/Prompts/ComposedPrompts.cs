namespace StableDiffusion.Prompts;

/// <summary>
/// Prompts split on AND (A1111's <c>get_multicond_prompt_list</c>): the distinct sub-prompt texts, each to be encoded
/// once, and per prompt the sub-prompts it combines with their weights.
/// </summary>
/// <param name="Parts">Per input prompt, its sub-prompts in order (A1111's <c>res_indexes</c>).</param>
/// <param name="Subprompts">The distinct sub-prompt texts in first-seen order (<c>prompt_flat_list</c>).</param>
public sealed record ComposedPrompts(IReadOnlyList<IReadOnlyList<WeightedSubprompt>> Parts, IReadOnlyList<string> Subprompts);
