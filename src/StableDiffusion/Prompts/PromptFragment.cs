namespace StableDiffusion.Prompts;

/// <summary>
/// One piece of an A1111 prompt with its emphasis weight, as <c>parse_prompt_attention</c> returns it
/// (<c>[text, weight]</c>). A BREAK is the fragment ("BREAK", -1).
/// </summary>
/// <param name="Text">The text, escapes resolved (<c>\(</c> → "(").</param>
/// <param name="Weight">The product of the bracket multipliers around it, in the order the brackets closed.</param>
public readonly record struct PromptFragment(string Text, double Weight)
{
    /// <summary>The marker A1111 inserts for the word BREAK.</summary>
    public static PromptFragment Break { get; } = new("BREAK", -1);

    /// <summary>
    /// True for the BREAK marker. As in A1111 (<c>text == 'BREAK' and weight == -1</c>), a BREAK inside brackets whose
    /// weight has been multiplied away from -1 is not one: it is then tokenized as the word "break".
    /// </summary>
    public bool IsBreak => Text == "BREAK" && Weight == -1;
}
