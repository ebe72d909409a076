using StableDiffusion.Graph;
using StableDiffusion.Lora;
using StableDiffusion.Models;
using StableDiffusion.Prompts;

namespace StableDiffusion.Pipeline;

// The pipeline's LoRA set, fused into the UNet and text encoder sessions as initializer overrides.
public sealed partial class StableDiffusionPipeline
{
    private IReadOnlyList<LoraEntry> _loras = [];

    /// <summary>The LoRAs fused into the sessions, in the order they were added (applied one after another).</summary>
    public IReadOnlyList<LoraEntry> Loras => _loras;

    /// <summary>Where A1111 <c>&lt;lora:name:w&gt;</c> names are looked up (New-SdPipeline -LoraPath); empty by default.</summary>
    public LoraLibrary LoraLibrary { get; set; } = LoraLibrary.Empty;

    /// <summary>
    /// Adds a LoRA to the set and rebuilds the sessions it changes (see <see cref="SetLoras"/>). A LoRA of the same
    /// name is refused: remove it first, or use <see cref="SetLoras"/> to change its weights.
    /// </summary>
    /// <exception cref="ArgumentException">A LoRA of this name is already in the set.</exception>
    public LoraEntry AddLora(LoraEntry lora)
    {
        ArgumentNullException.ThrowIfNull(lora);
        _gate.Run(() =>
        {
            lock (_runLock)
            {
                if (FindLora(lora.Name) is not null)
                    throw new ArgumentException($"A LoRA named '{lora.Name}' is already applied; remove it first to change it.", nameof(lora));
                ApplyLoras([.. _loras, lora]);
            }
        });
        return lora;
    }

    /// <summary>Removes the LoRA named <paramref name="name"/> (case-insensitive) and rebuilds the sessions it changed; false when none has that name.</summary>
    public bool RemoveLora(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        bool removed = false;
        _gate.Run(() =>
        {
            lock (_runLock)
            {
                var found = FindLora(name);
                if (found is null) return;
                ApplyLoras(_loras.Where(l => !ReferenceEquals(l, found)).ToList());
                removed = true;
            }
        });
        return removed;
    }

    /// <summary>Removes every LoRA (the sessions they changed go back to the model's own weights).</summary>
    public void ClearLoras() => SetLoras([]);

    /// <summary>
    /// Replaces the LoRA set. Every LoRA is fused first (unmapped keys, another family's LoRA and shape mismatches
    /// throw before any session is touched); then only the components whose LoRAs or weights changed get new sessions,
    /// created before the old ones are released, so a failure leaves the pipeline as it was.
    /// </summary>
    /// <exception cref="LoraMappingException">A LoRA key changes nothing in this model, or the LoRA is for another family.</exception>
    /// <exception cref="LoraFormatException">A module's shape does not fit the weight it targets.</exception>
    public void SetLoras(IReadOnlyList<LoraEntry> loras)
    {
        ArgumentNullException.ThrowIfNull(loras);
        var names = loras.GroupBy(l => l.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (names is not null) throw new ArgumentException($"The LoRA '{names.Key}' is in the set twice.", nameof(loras));
        _gate.Run(() =>
        {
            lock (_runLock) ApplyLoras(loras.ToList());
        });
    }

    /// <summary>
    /// The LoRA files the <c>&lt;lora:name:te:unet&gt;</c> tags of an A1111 prompt name, each resolved in
    /// <see cref="LoraLibrary"/>: checked before any work, so a bad tag or unknown name never starts a generation.
    /// </summary>
    /// <exception cref="Prompts.PromptSyntaxException">A bad tag (see <see cref="A1111PromptEncodingStage.LoraTags"/>).</exception>
    /// <exception cref="InvalidSettingException">A name no -LoraPath folder has (the message lists them), twice in the prompt, or already applied.</exception>
    public IReadOnlyList<(LoraPromptTag Tag, string Path)> ResolvePromptLoras(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var tags = A1111PromptEncodingStage.LoraTags(A1111ExtraNetworks.Parse(prompt), prompt);
        var resolved = new List<(LoraPromptTag, string)>(tags.Count);
        foreach (var tag in tags)
        {
            string? path;
            try { path = LoraLibrary.TryResolve(tag.Name); }
            catch (ArgumentException e) { throw new InvalidSettingException("Prompt", "PromptLoraNameInvalid", tag.Name, e.Message); }
            if (path is null)
                throw new InvalidSettingException("Prompt", "PromptLoraNotFound", tag.Name, LoraLibrary.Folders.Count == 0
                    ? $"The prompt asks for <lora:{tag.Name}>, but the pipeline has no LoRA folder; give New-SdPipeline -LoraPath the folder(s) holding '{tag.Name}.safetensors'."
                    : $"The prompt asks for <lora:{tag.Name}>, but no '{tag.Name}.safetensors' is in {string.Join(", ", LoraLibrary.Folders.Select(f => $"'{f}'"))}; check the name or add its folder to -LoraPath.");
            if (resolved.Any(r => string.Equals(r.Item1.Name, tag.Name, StringComparison.OrdinalIgnoreCase)))
                throw new InvalidSettingException("Prompt", "PromptLoraDuplicate", tag.Name,
                    $"The prompt names <lora:{tag.Name}> twice; give it once with the sum of the weights.");
            if (FindLora(tag.Name) is not null)
                throw new InvalidSettingException("Prompt", "PromptLoraAlreadyApplied", tag.Name,
                    $"The LoRA '{tag.Name}' is already applied to the pipeline (Add-SdLora); remove the <lora:{tag.Name}> tag or the applied LoRA (Remove-SdLora).");
            resolved.Add((tag, path));
        }
        return resolved;
    }

    /// <summary>
    /// The extra-network checks of one A1111 request before any work: its LoRA tags resolve (<see cref="ResolvePromptLoras"/>)
    /// and neither text names an embedding the A1111 path cannot place (<see cref="CheckA1111Embeddings"/>).
    /// </summary>
    public void CheckA1111Networks(ImageRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ResolvePromptLoras(request.Prompt);
        CheckA1111Embeddings("Prompt", A1111ExtraNetworks.Parse(request.Prompt).Text);
        CheckA1111Embeddings("NegativePrompt", request.NegativePrompt);
    }

    /// <summary>
    /// Under the run lock: adds the LoRAs of the batch's A1111 tags to the set for this generation. As A1111's
    /// parse_prompts, only the first prompt of the batch activates its tags (every prompt loses them). Returns the
    /// action that restores the set as it was, or null when nothing was applied; a failure here leaves the set unchanged
    /// (<see cref="ApplyLoras"/> swaps all components or none).
    /// </summary>
    private Action? ApplyPromptLoras(IReadOnlyList<ImageRequest> batch, GenerationSettings settings)
    {
        if (settings.PromptSyntax != PromptSyntax.A1111) return null;
        var wanted = ResolvePromptLoras(batch[0].Prompt);
        if (wanted.Count == 0) return null;
        var previous = _loras;
        var added = wanted.Select(w => LoraEntry.Load(w.Path, (float)w.Tag.UNetWeight, (float)w.Tag.TextEncoderWeight));
        ApplyLoras([.. previous, .. added]);
        return () => ApplyLoras(previous);
    }

    private LoraEntry? FindLora(string name) => _loras.FirstOrDefault(l => string.Equals(l.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The components a LoRA can change in this model, with their session names and graphs.</summary>
    private IEnumerable<(LoraComponent Component, string Session, string Path)> LoraComponents()
    {
        yield return (LoraComponent.UNet, "unet", Model.UNetPath);
        if (Model.HasTextEncoder) yield return (LoraComponent.TextEncoder, "text_encoder", Model.TextEncoderPath);
        // The SDXL refiner's only text encoder is text_encoder_2, loaded as the pipeline's "text_encoder" session.
        if (Model.HasTextEncoder2) yield return (LoraComponent.TextEncoder2, Model.HasTextEncoder ? "text_encoder_2" : "text_encoder", Model.TextEncoder2Path);
    }

    /// <summary>
    /// Which initializer each module changes, read from the graphs. Not kept: a graph with its weights inline (the tiny
    /// model, a float16 SD 1.5 UNet under 2 GB) holds them all, and the sessions already do; external weights are read
    /// only for the initializers a LoRA changes.
    /// </summary>
    private Dictionary<LoraComponent, LoraTargetIndex> LoraTargets() =>
        LoraComponents().ToDictionary(c => c.Component, c => new LoraTargetIndex(OnnxGraphFile.Load(c.Path, loadExternalData: false)));

    /// <summary>Under the run lock: fuses <paramref name="next"/>, rebuilds the components it changes, swaps them in.</summary>
    private void ApplyLoras(IReadOnlyList<LoraEntry> next)
    {
        var components = LoraComponents().ToList();
        var changed = components.Where(c => !Signature(_loras, c.Component).SequenceEqual(Signature(next, c.Component))).ToList();
        if (changed.Count == 0)
        {
            _loras = next;
            return;
        }
        var fused = Fuse(next);

        var built = new List<(string Session, LoraSessionOverrides? Previous, LoraSessionOverrides? Overrides, IDisposable? Component)>();
        try
        {
            foreach (var (component, session, _) in changed)
            {
                var mine = fused.Where(f => f.Component == component).ToList();
                var overrides = mine.Count == 0 ? null : LoraSessionOverrides.From(mine);
                var previous = _sessions.SetOverrides(session, overrides);
                built.Add((session, previous, overrides, null));
                built[^1] = built[^1] with { Component = BuildComponent(session) };
            }
        }
        catch
        {
            // Back to the sessions and overrides as they were.
            foreach (var (session, previous, overrides, component) in built)
            {
                component?.Dispose();
                _sessions.SetOverrides(session, previous);
                overrides?.Dispose();
            }
            throw;
        }
        foreach (var (session, previous, _, component) in built)
        {
            IDisposable? old = SwapComponent(session, component!);
            old?.Dispose();
            previous?.Dispose(); // after the sessions that used it
        }
        _loras = next;
        ReleaseIdleSessions();
    }

    /// <summary>What a component's fused weights depend on: each LoRA that changes it, with its multiplier there.</summary>
    private static IEnumerable<(string Path, float Weight)> Signature(IReadOnlyList<LoraEntry> loras, LoraComponent component) =>
        loras.Where(l => l.Changes(component)).Select(l => (l.Path, l.WeightFor(component)));

    /// <summary>The fused initializers of every component; the text encoders use each LoRA's text-encoder weight.</summary>
    private IReadOnlyList<FusedInitializer> Fuse(IReadOnlyList<LoraEntry> loras)
    {
        if (loras.Count == 0) return [];
        var targets = LoraTargets();
        var unet = LoraFuser.Fuse(loras.Select(l => new LoraWeighting(l.File, l.Weight)).ToList(), targets, Family);
        if (loras.All(l => l.Weight == l.TextEncoderWeight)) return unet;
        var text = LoraFuser.Fuse(loras.Select(l => new LoraWeighting(l.File, l.TextEncoderWeight)).ToList(), targets, Family);
        return [.. unet.Where(f => f.Component == LoraComponent.UNet), .. text.Where(f => f.Component != LoraComponent.UNet)];
    }

    /// <summary>A new session of a component (the factory adds its current overrides); the UNet keeps its attention slicing.</summary>
    private IDisposable BuildComponent(string session) => session switch
    {
        "unet" => LoadUNet(_sessions, Model.UNetPath, AttentionSlicing?.Model, Options, Model.UNetChannels),
        "text_encoder" => LoadTextEncoder(),
        _ => LoadTextEncoder2(),
    };

    private IDisposable? SwapComponent(string session, IDisposable component)
    {
        IDisposable? old;
        switch (session)
        {
            case "unet":
                old = _unet;
                _unet = (UNet)component;
                break;
            case "text_encoder":
                old = _textEncoder;
                _textEncoder = (TextEncoder)component;
                break;
            default:
                old = _textEncoder2;
                _textEncoder2 = (TextEncoder)component;
                break;
        }
        return old;
    }
}
