namespace StableDiffusion.Prompts;

/// <summary>
/// One entry of an A1111 prompt schedule: <see cref="Text"/> is the prompt for every sampler step up to and including
/// <see cref="EndAtStep"/> (A1111's <c>[end_at_step, text]</c>).
/// </summary>
public sealed record PromptScheduleEntry(int EndAtStep, string Text);
