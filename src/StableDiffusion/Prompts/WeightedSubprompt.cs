namespace StableDiffusion.Prompts;

/// <summary>One AND part of a prompt: its position in <see cref="ComposedPrompts.Subprompts"/> and its weight.</summary>
public readonly record struct WeightedSubprompt(int Index, double Weight);
