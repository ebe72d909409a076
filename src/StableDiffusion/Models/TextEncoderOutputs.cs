namespace StableDiffusion.Models;

/// <summary>
/// What <see cref="TextEncoder.EncodeAll"/> returns: one of the graph's <c>hidden_states.N</c> outputs
/// [batch, sequence, <see cref="HiddenSize"/>] and, when asked, the projected pooled output <c>text_embeds</c>
/// [batch, <see cref="PooledSize"/>].
/// </summary>
/// <param name="HiddenStates">The chosen hidden state, [batch, sequence, HiddenSize], C order.</param>
/// <param name="HiddenSize">Width of one token embedding.</param>
/// <param name="Pooled">text_embeds [batch, PooledSize]; null when not requested.</param>
/// <param name="PooledSize">Width of a pooled embedding (0 when <paramref name="Pooled"/> is null).</param>
public sealed record TextEncoderOutputs(float[] HiddenStates, int HiddenSize, float[]? Pooled, int PooledSize);
