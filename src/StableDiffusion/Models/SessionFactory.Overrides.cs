using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Lora;

namespace StableDiffusion.Models;

// Per-component initializer overrides (fused LoRA weights) that every later session of the component gets.
public sealed partial class SessionFactory
{
    private readonly Dictionary<string, LoraSessionOverrides> _overrides = new(StringComparer.Ordinal);

    /// <summary>The overrides sessions of <paramref name="component"/> ("unet", "text_encoder"…) get, or null.</summary>
    internal LoraSessionOverrides? OverridesFor(string component) => _overrides.GetValueOrDefault(component);

    /// <summary>
    /// Sets the overrides of <paramref name="component"/>'s next sessions (null: none) and returns the previous ones,
    /// which the caller disposes once no session made with them is left.
    /// </summary>
    internal LoraSessionOverrides? SetOverrides(string component, LoraSessionOverrides? overrides)
    {
        var previous = OverridesFor(component);
        if (overrides is null) _overrides.Remove(component); else _overrides[component] = overrides;
        return previous;
    }

    private void ApplyOverrides(SessionOptions options, string component) => OverridesFor(component)?.ApplyTo(options);
}
