namespace StableDiffusion.Lora;

/// <summary>How a module's weight change is built from its factors.</summary>
public enum LoraModuleKind
{
    /// <summary>ΔW = up·down (optionally up·mid·down, LoCon's Tucker form).</summary>
    Lora,

    /// <summary>LyCORIS LoHa: ΔW = (w1a·w1b) ∘ (w2a·w2b).</summary>
    LoHa,

    /// <summary>LyCORIS LoKr: ΔW = kron(w1, w2), each factor full or a product of two.</summary>
    LoKr,
}
