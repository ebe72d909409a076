namespace StableDiffusion.Lora;

/// <summary>
/// One module a LoRA changes, independent of the file's key format: the component, the module path in diffusers /
/// transformers naming (<c>down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q</c>,
/// <c>text_model.encoder.layers.0.mlp.fc1</c>), the factors by role and alpha.
/// </summary>
public sealed class LoraModule
{
    public LoraModule(LoraComponent component, string modulePath, string flatName, string sourceName, LoraModuleKind kind,
        IReadOnlyDictionary<string, LoraTensor> factors, float? alpha, string? alphaKey = null, string filePath = "")
    {
        Component = component;
        ModulePath = modulePath;
        FlatName = flatName;
        SourceName = sourceName;
        Kind = kind;
        Factors = factors;
        Alpha = alpha;
        AlphaKey = alphaKey;
        FilePath = filePath;
    }

    /// <summary>The file the module came from, for messages.</summary>
    public string FilePath { get; }

    public LoraComponent Component { get; }

    /// <summary>The module path as this library reads the key (dotted, diffusers naming); the graph has the last word.</summary>
    public string ModulePath { get; }

    /// <summary>The path with every '.' as '_' (kohya's form), for matching names whose underscores are ambiguous.</summary>
    public string FlatName { get; }

    /// <summary>The key stem in the file (<c>lora_unet_…</c>, <c>unet.…</c>), for messages.</summary>
    public string SourceName { get; }

    public LoraModuleKind Kind { get; }

    /// <summary>
    /// Factors by role: Lora "up", "down", optional "mid"; LoHa "w1a", "w1b", "w2a", "w2b", optional "t1", "t2";
    /// LoKr "w1" or "w1a"+"w1b", "w2" or "w2a"+"w2b", optional "t2".
    /// </summary>
    public IReadOnlyDictionary<string, LoraTensor> Factors { get; }

    /// <summary>The stored alpha; null when the file has none (then the scale alpha/rank is 1).</summary>
    public float? Alpha { get; }

    /// <summary>The file key of the alpha tensor, when alpha came from one (not from PEFT metadata).</summary>
    public string? AlphaKey { get; }

    /// <summary>Every file key of this module.</summary>
    public IEnumerable<string> Keys => AlphaKey is null ? Factors.Values.Select(f => f.Key) : Factors.Values.Select(f => f.Key).Append(AlphaKey);

    /// <summary>The rank that divides alpha (A1111/LyCORIS's "dim"), or null when the factors have none (full LoKr).</summary>
    public int? Rank => Kind switch
    {
        LoraModuleKind.Lora => Factors["down"].Rows,
        LoraModuleKind.LoHa => Factors["w1b"].Rows,
        _ => Factors.TryGetValue("w1b", out var w1b) ? w1b.Rows : Factors.TryGetValue("w2b", out var w2b) ? w2b.Rows : null,
    };

    /// <summary>alpha / rank, or 1 without alpha or rank (kohya, PEFT and LyCORIS all default to that).</summary>
    public float Scale => Alpha is float a && Rank is int r && r > 0 ? a / r : 1f;

    public override string ToString() => $"{Component}: {ModulePath} ({Kind})";
}
