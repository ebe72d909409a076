using System.Text.Json;
using StableDiffusion.Weights;

namespace StableDiffusion.Lora;

/// <summary>
/// A LoRA .safetensors file read into format-independent <see cref="LoraModule"/>s. Reads kohya / sd-scripts keys
/// (<c>lora_unet_…</c>, <c>lora_te_…</c>, <c>lora_te1_…</c>/<c>lora_te2_…</c>, sgm block names), diffusers / PEFT keys
/// (<c>unet.….lora_A.weight</c>, alpha from <c>lora_adapter_metadata</c>) and LyCORIS LoHa (<c>hada_*</c>) and LoKr
/// (<c>lokr_*</c>) factors. Keys it does not understand are kept in <see cref="UnknownKeys"/> for the mapping error.
/// </summary>
public sealed class LoraFile
{
    private static readonly (string Suffix, LoraModuleKind? Kind, string Role)[] Suffixes =
    [
        ("lora_down.weight", LoraModuleKind.Lora, "down"), ("lora_up.weight", LoraModuleKind.Lora, "up"),
        ("lora_mid.weight", LoraModuleKind.Lora, "mid"), ("lora_A.weight", LoraModuleKind.Lora, "down"),
        ("lora_B.weight", LoraModuleKind.Lora, "up"), ("alpha", null, "alpha"),
        ("hada_w1_a", LoraModuleKind.LoHa, "w1a"), ("hada_w1_b", LoraModuleKind.LoHa, "w1b"),
        ("hada_w2_a", LoraModuleKind.LoHa, "w2a"), ("hada_w2_b", LoraModuleKind.LoHa, "w2b"),
        ("hada_t1", LoraModuleKind.LoHa, "t1"), ("hada_t2", LoraModuleKind.LoHa, "t2"),
        ("lokr_w1", LoraModuleKind.LoKr, "w1"), ("lokr_w1_a", LoraModuleKind.LoKr, "w1a"), ("lokr_w1_b", LoraModuleKind.LoKr, "w1b"),
        ("lokr_w2", LoraModuleKind.LoKr, "w2"), ("lokr_w2_a", LoraModuleKind.LoKr, "w2a"), ("lokr_w2_b", LoraModuleKind.LoKr, "w2b"),
        ("lokr_t2", LoraModuleKind.LoKr, "t2"),
    ];

    private LoraFile(string path, IReadOnlyList<LoraModule> modules, IReadOnlyList<string> unknownKeys, IReadOnlyList<string> skippedKeys, LoraFamily family)
    {
        SkippedKeys = skippedKeys;
        FilePath = path;
        Modules = modules;
        UnknownKeys = unknownKeys;
        Family = family;
    }

    public string FilePath { get; }

    public IReadOnlyList<LoraModule> Modules { get; }

    /// <summary>Keys that are no LoRA factor this library knows (reported when the LoRA is applied).</summary>
    public IReadOnlyList<string> UnknownKeys { get; }

    /// <summary>Non-float tensors that are no factor (bookkeeping such as a step counter), skipped.</summary>
    public IReadOnlyList<string> SkippedKeys { get; }

    public LoraFamily Family { get; }

    /// <summary>Reads a file; <paramref name="layersPerBlock"/> is the UNet's, for sgm block names (2 in SD 1.x, 2.x, SDXL).</summary>
    public static LoraFile Load(string path, int layersPerBlock = 2)
    {
        using var file = SafetensorsFile.Open(path);
        return Read(file, layersPerBlock);
    }

    public static LoraFile Read(SafetensorsFile file, int layersPerBlock = 2)
    {
        var path = file.FilePath;
        var unknown = new List<string>();
        var skipped = new List<string>();
        var groups = new Dictionary<(LoraComponent, string Stem), Dictionary<string, string>>();
        var family = LoraFamily.Unknown;
        foreach (var tensor in file.Tensors)
        {
            var key = tensor.Name;
            var match = Suffixes.Where(s => key.EndsWith("." + s.Suffix, StringComparison.Ordinal)).OrderByDescending(s => s.Suffix.Length).FirstOrDefault();
            if (match.Suffix is null)
            {
                // Integer tensors beside the factors are bookkeeping (a training step, say), not weights: skip them.
                if (tensor.IsReadableFloat) unknown.Add(key); else skipped.Add(key);
                continue;
            }
            var stem = key[..^(match.Suffix.Length + 1)];
            if (!TryComponent(stem, out var component, out var stemFamily)) { unknown.Add(key); continue; }
            if (!tensor.IsReadableFloat)
                throw new LoraFormatException(path, key, $"the factor is stored as {tensor.DType}; LoRA factors must be F32, F16 or BF16.");
            if (stemFamily != LoraFamily.Unknown) family = stemFamily;
            var roles = groups.TryGetValue((component, stem), out var r) ? r : groups[(component, stem)] = new Dictionary<string, string>();
            roles[match.Role] = key;
        }

        var peftAlphas = PeftAlphas(file);
        var modules = new List<LoraModule>();
        foreach (var ((component, stem), roles) in groups.OrderBy(g => g.Key.Stem, StringComparer.Ordinal))
        {
            var module = BuildModule(file, component, stem, roles, peftAlphas, layersPerBlock, unknown);
            if (module is not null) modules.Add(module);
        }
        return new LoraFile(path, modules, unknown, skipped, family);
    }

    private static bool TryComponent(string stem, out LoraComponent component, out LoraFamily family)
    {
        (string Prefix, LoraComponent Component, LoraFamily Family)[] prefixes =
        [
            ("lora_unet_", LoraComponent.UNet, LoraFamily.Unknown), ("lora_te_", LoraComponent.TextEncoder, LoraFamily.SingleTextEncoder),
            ("lora_te1_", LoraComponent.TextEncoder, LoraFamily.Sdxl), ("lora_te2_", LoraComponent.TextEncoder2, LoraFamily.Sdxl),
            ("unet.", LoraComponent.UNet, LoraFamily.Unknown), ("text_encoder.", LoraComponent.TextEncoder, LoraFamily.Unknown),
            ("text_encoder_2.", LoraComponent.TextEncoder2, LoraFamily.Sdxl),
        ];
        foreach (var p in prefixes)
        {
            if (stem.StartsWith(p.Prefix, StringComparison.Ordinal) && stem.Length > p.Prefix.Length)
            {
                component = p.Component;
                family = p.Family;
                return true;
            }
        }
        component = default;
        family = LoraFamily.Unknown;
        return false;
    }

    private static LoraModule? BuildModule(SafetensorsFile file, LoraComponent component, string stem, Dictionary<string, string> roles,
        PeftAlphaTable peft, int layersPerBlock, List<string> unknown)
    {
        var path = file.FilePath;
        string modulePath, flat;
        bool kohya = stem.StartsWith("lora_", StringComparison.Ordinal);
        if (kohya)
        {
            flat = stem[(stem.IndexOf('_', 5) + 1)..];
            if (component == LoraComponent.UNet && LoraKeyNames.IsSgm(flat))
            {
                var converted = LoraKeyNames.SgmToDiffusers(flat, layersPerBlock);
                if (converted is null) { unknown.AddRange(roles.Values); return null; }
                flat = converted;
            }
            modulePath = LoraKeyNames.ToModulePath(flat);
        }
        else
        {
            modulePath = stem[(stem.IndexOf('.') + 1)..];
            flat = LoraKeyNames.Flatten(modulePath);
        }

        var kind = InferKind(roles, path, stem);
        var required = kind switch
        {
            LoraModuleKind.Lora => new[] { "up", "down" },
            LoraModuleKind.LoHa => ["w1a", "w1b", "w2a", "w2b"],
            _ => [],
        };
        foreach (var role in required)
            if (!roles.ContainsKey(role))
                throw new LoraFormatException(path, stem, $"the {kind} module has no '{role}' factor (found: {string.Join(", ", roles.Values)}).");
        if (kind == LoraModuleKind.LoKr && !(roles.ContainsKey("w1") || roles.ContainsKey("w1a") && roles.ContainsKey("w1b"))
            || kind == LoraModuleKind.LoKr && !(roles.ContainsKey("w2") || roles.ContainsKey("w2a") && roles.ContainsKey("w2b")))
            throw new LoraFormatException(path, stem, $"the LoKr module needs lokr_w1 (or lokr_w1_a + lokr_w1_b) and lokr_w2 (or lokr_w2_a + lokr_w2_b); found: {string.Join(", ", roles.Values)}.");

        var factors = new Dictionary<string, LoraTensor>(StringComparer.Ordinal);
        float? alpha = null;
        foreach (var (role, key) in roles)
        {
            var info = file[key];
            var values = file.ReadFloats(key);
            for (int i = 0; i < values.Length; i++)
                if (!float.IsFinite(values[i]))
                    throw new LoraFormatException(path, key, $"value {i} is {values[i]}; a LoRA with NaN or infinite weights would destroy the model. Re-export or re-train it.") { NonFiniteValues = true };
            if (role == "alpha")
            {
                if (values.Length != 1) throw new LoraFormatException(path, key, $"alpha must be a single value, not shape [{string.Join(", ", info.Shape)}].");
                alpha = values[0];
                continue;
            }
            factors[role] = new LoraTensor(key, info.Shape.Select(d => checked((int)d)).ToArray(), values);
        }
        if (alpha is null && !kohya) alpha = peft.AlphaFor(component, modulePath);
        if (kind == LoraModuleKind.Lora && factors["up"].Shape.Length >= 2 && factors["up"].Shape[1] != factors["down"].Rows)
            throw new LoraFormatException(path, stem, $"lora_up has rank {factors["up"].Shape[1]} but lora_down has rank {factors["down"].Rows}.");
        return new LoraModule(component, modulePath, flat, stem, kind, factors, alpha, roles.GetValueOrDefault("alpha"), path);
    }

    private static LoraModuleKind InferKind(Dictionary<string, string> roles, string path, string stem)
    {
        var kinds = roles.Where(r => r.Key != "alpha")
            .Select(r => Suffixes.First(s => r.Value.EndsWith("." + s.Suffix, StringComparison.Ordinal) && s.Role == r.Key).Kind!.Value)
            .Distinct().ToList();
        if (kinds.Count != 1)
            throw new LoraFormatException(path, stem, kinds.Count == 0
                ? "the module has an alpha but no factors."
                : $"the module mixes factor kinds ({string.Join(", ", kinds)}): {string.Join(", ", roles.Values)}.");
        return kinds[0];
    }

    private static PeftAlphaTable PeftAlphas(SafetensorsFile file)
    {
        if (!file.Metadata.TryGetValue("lora_adapter_metadata", out var json)) return new PeftAlphaTable(null);
        try
        {
            using var doc = JsonDocument.Parse(json);
            return new PeftAlphaTable(doc.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new LoraFormatException(file.FilePath, "__metadata__.lora_adapter_metadata", $"is not valid JSON ({e.Message}).");
        }
    }
}
