using StableDiffusion.Models;

namespace StableDiffusion.Pipeline;

// The tasks: which prepare-latents stage a generation uses, the VAE encoder it needs, and the checks that refuse a bad
// combination before any session runs.
public sealed partial class StableDiffusionPipeline
{
    private VaeEncoder? _vaeEncoder;

    /// <summary>The VAE encoder (image-to-image and inpainting), loaded on first use.</summary>
    public VaeEncoder VaeEncoder => Live(ref _vaeEncoder, LoadVaeEncoder);

    /// <summary>Where the VAE encoder of the VAE in use is, or null when it has none.</summary>
    public string? VaeEncoderPath => Vae is not null ? Vae.EncoderPath : Model.HasVaeEncoder ? Model.VaeEncoderPath : null;

    /// <summary>Whether the UNet is an inpainting UNet (9 channels: latents, mask, masked-image latents).</summary>
    public bool IsInpaintingUNet => UNet.InChannels == InpaintLatents.InpaintingChannels;

    private VaeEncoder LoadVaeEncoder() => VaeEncoder.Load(_sessions, VaeEncoderPath
        ?? throw new InvalidOperationException("This model has no VAE encoder."));

    private ILatentsStage LatentsStage(GenerationSettings settings) =>
        settings.InitImage is null && settings.InitLatents is null ? new TextToImageLatents()
        : settings.Mask is null ? new ImageToImageLatents(ImageEncoder)
        : new InpaintLatents(ImageEncoder, UNet.InChannels);

    /// <summary>Stage 1 for this family: CLIP (SD 1.x/2.x) or SDXL's two encoders with pooled embeddings.</summary>
    private IPromptEncodingStage PromptStage(GenerationSettings settings)
    {
        if (settings.PromptSyntax == PromptSyntax.A1111)
            return new A1111PromptEncodingStage(Tokenizer, () => TextEncoder, settings.Steps, settings.A1111, settings.ClipSkip ?? 0,
                graph => _sessions.Create(graph, "text_encoder", null, cudaGraph: false));
        if (Model.Family != ModelFamily.StableDiffusionXL)
            return new PromptEncodingStage(Tokenizer, () => TextEncoder, settings.ClipSkip ?? 0,
                graph => _sessions.Create(graph, "text_encoder", null, cudaGraph: false));
        // The base has both encoders; the refiner only the second, which Tokenizer/TextEncoder then are.
        return Tokenizer2 is not null
            ? new SdxlPromptEncodingStage(Tokenizer, () => TextEncoder, Tokenizer2, () => TextEncoder2!, Model.ForceZerosForEmptyPrompt, settings.ClipSkip ?? 0)
            : new SdxlPromptEncodingStage(null, null, Tokenizer, () => TextEncoder, Model.ForceZerosForEmptyPrompt, settings.ClipSkip ?? 0);
    }

    private ImageLatents ImageEncoder(int height, int width) => new(VaeEncoder, ScalingFactor, height, width);

    /// <summary>SDXL's further UNet inputs: the pooled text embeddings and the micro-conditioning time ids.</summary>
    private static readonly string[] SdxlInputs = ["text_embeds", "time_ids"];

    /// <summary>A UNet with inputs this pipeline cannot supply (or without those its family needs) is refused at load, naming them.</summary>
    private static void CheckUNetInputs(UNet unet, ModelFolder model)
    {
        var supplied = model.Family == ModelFamily.StableDiffusionXL ? SdxlInputs : [];
        var unknown = unet.ExtraInputs.Except(supplied).ToArray();
        if (unknown.Length > 0)
            throw new ModelLoadException(ModelLoadError.UnsupportedGraph, model.UNetPath,
                $"The UNet '{model.UNetPath}' takes {string.Join(", ", unknown.Select(n => $"'{n}'"))} beside sample, timestep and " +
                $"encoder_hidden_states{(supplied.Length > 0 ? ", text_embeds and time_ids" : "")}; a {Describe(model.Family)} pipeline does not supply " +
                (unet.ExtraInputs.Intersect(SdxlInputs).Any() && model.Family != ModelFamily.StableDiffusionXL
                    ? "them. It looks like an SDXL UNet in a folder without text_encoder_2 and tokenizer_2: use the whole SDXL export."
                    : "them. Is this a ControlNet or another architecture's UNet?"));
        var missing = supplied.Except(unet.ExtraInputs).ToArray();
        if (missing.Length > 0)
            throw new ModelLoadException(ModelLoadError.UnsupportedGraph, model.UNetPath,
                $"The folder is an SDXL model (text_encoder_2, {model.PipelineClass ?? "no index class"}) but its UNet '{model.UNetPath}' takes no " +
                $"{string.Join(" or ", missing.Select(n => $"'{n}'"))}: the UNet is not an SDXL UNet. Re-export the model with optimum.");
    }

    private static string Describe(ModelFamily family) => family == ModelFamily.StableDiffusionXL ? "Stable Diffusion XL" : "Stable Diffusion 1.x/2.x";

    /// <summary>The UNet's further inputs for this family: SDXL's <c>text_embeds</c> [rows, P] and <c>time_ids</c> [rows, 6 or 5].</summary>
    private IReadOnlyList<NamedTensor> UNetInputs(GenerationSettings settings, PromptEmbeddings prompt, int images)
    {
        if (Model.Family != ModelFamily.StableDiffusionXL) return [];
        var pooled = prompt.Pooled ?? throw new InvalidOperationException("The SDXL prompt stage gave no pooled embeddings.");
        int rows = prompt.Rows;
        bool imageTask = settings.InitImage is not null || settings.InitLatents is not null;
        var timeIds = SdxlTimeIds.Build(settings.Conditioning, settings.Height!.Value, settings.Width!.Value, images, prompt.Guided, imageTask, Model.RequiresAestheticsScore);
        return
        [
            new NamedTensor("text_embeds", pooled, [rows, pooled.Length / rows]),
            new NamedTensor("time_ids", timeIds, [rows, timeIds.Length / rows]),
        ];
    }

    /// <summary>The checks of a task that need the model (the settings' own are in <see cref="GenerationSettings.Validate"/>).</summary>
    /// <exception cref="ArgumentException">The task cannot run on this model, with the reason and the fix.</exception>
    /// <summary>
    /// SDXL's second prompts and micro-conditioning mean nothing to an SD 1.x/2.x model: refused by name, never ignored
    /// (an image made without them would not be the one asked for).
    /// </summary>
    /// <exception cref="InvalidSettingException">An SDXL-only value was given to another family.</exception>
    private void CheckFamilyInputs(IReadOnlyList<ImageRequest> batch, GenerationSettings settings)
    {
        if (Model.Family == ModelFamily.StableDiffusionXL && settings.PromptSyntax == PromptSyntax.A1111)
            throw new InvalidSettingException("PromptSyntax", "PromptSyntaxUnsupported", settings.PromptSyntax,
                $"PromptSyntax A1111 runs on SD 1.x/2.x models; '{Model.Name}' is SDXL, whose two text encoders it does not cover yet. " +
                "Use -PromptSyntax Plain with this model.");
        if (Model.Family == ModelFamily.StableDiffusionXL) return;
        var c = settings.Conditioning;
        (string Name, object? Value)? given =
            batch.FirstOrDefault(r => r.Prompt2 is not null) is { } p2 ? ("Prompt2", p2.Prompt2)
            : batch.FirstOrDefault(r => r.NegativePrompt2 is not null) is { } n2 ? ("NegativePrompt2", n2.NegativePrompt2)
            : c.OriginalSize is { } os ? ("OriginalSize", os)
            : c.CropTopLeft is { } ct ? ("CropTopLeft", ct)
            : c.TargetSize is { } ts ? ("TargetSize", ts)
            : c.NegativeOriginalSize is { } nos ? ("NegativeOriginalSize", nos)
            : c.NegativeCropTopLeft is { } nct ? ("NegativeCropTopLeft", nct)
            : c.NegativeTargetSize is { } nts ? ("NegativeTargetSize", nts)
            : c.AestheticScore is { } a ? ("AestheticScore", a)
            : c.NegativeAestheticScore is { } na ? ("NegativeAestheticScore", na)
            : null;
        if (given is { } g)
            throw new InvalidSettingException(g.Name, "SdxlOnlySetting", g.Value,
                $"{g.Name} is an SDXL setting; '{Model.Name}' is an SD 1.x/2.x model, which has no second text encoder or size " +
                $"conditioning. Leave {g.Name} out, or load an SDXL model.");
    }

    private void CheckTask(GenerationSettings settings)
    {
        if (Model.Family == ModelFamily.StableDiffusionXL && !Model.HasTextEncoder && settings.InitImage is null && settings.InitLatents is null)
            throw new ArgumentException(
                $"'{Model.Name}' is an SDXL refiner (it has only text_encoder_2): it refines an image or latents. Give -InitImage, or pipe the " +
                "base model's latents (Invoke-SdGeneration -DenoisingEnd 0.8 -OutputType Latent) with -DenoisingStart.", nameof(settings.InitImage));
        if (Model.Family == ModelFamily.StableDiffusionXL && settings.Mask is not null)
            throw new ArgumentException("Inpainting is not supported for SDXL models yet; use an SD 1.x/2.x inpainting model.", nameof(settings.Mask));
        // diffusers checks the UNet's add-embedding width the same way: 5 time ids with the aesthetic score, else 6.
        int timeIds = SdxlTimeIds.Width(Model.RequiresAestheticsScore);
        if (Model.Family == ModelFamily.StableDiffusionXL && UNet.ExtraInputDimension("time_ids", 1) is int expected && expected != timeIds)
            throw new ArgumentException(
                $"The UNet takes {expected} time ids but the model's index says requires_aesthetics_score = {Model.RequiresAestheticsScore.ToString().ToLowerInvariant()}, " +
                $"which gives {timeIds}. Set requires_aesthetics_score to {(expected == 5).ToString().ToLowerInvariant()} in model_index.json (a refiner takes 5, a base 6).",
                nameof(SdxlConditioning.AestheticScore));
        // Before any work: a size the UNet cannot halve evenly fails deep in the graph, reported like a broken model.
        if (ImageTaskRules.SizeMultiple(settings.Width!.Value, settings.Height!.Value, Model.VaeScaleFactor, UNet.LatentSizeMultiple, Model.Name) is { } size)
            throw new ArgumentException(size.Message, size.Setting);
        if (settings.InitLatents is { } latents)
        {
            if (latents.Channels != UNet.OutChannels)
                throw new ArgumentException($"The init latents have {latents.Channels} channels; this model's latents have {UNet.OutChannels}.", nameof(settings.InitLatents));
            if (settings.Width != latents.Width * Model.VaeScaleFactor || settings.Height != latents.Height * Model.VaeScaleFactor)
                throw new ArgumentException(
                    $"The init latents ({latents.Width}×{latents.Height}) are a {latents.Width * Model.VaeScaleFactor}×{latents.Height * Model.VaeScaleFactor} image; " +
                    $"{settings.Width}×{settings.Height} was asked for. Leave Width and Height out to take the latents' size.", nameof(settings.Width));
            if (IsInpaintingUNet)
                throw new ArgumentException($"'{Model.Name}' is an inpainting model: it needs -InitImage and -Mask, not latents.", nameof(settings.InitLatents));
            return;
        }
        if (settings.InitImage is null)
        {
            if (IsInpaintingUNet)
                throw new ArgumentException(
                    $"'{Model.Name}' is an inpainting model (its UNet takes {UNet.InChannels} channels: latents, mask and masked image): " +
                    "give -InitImage and -Mask, or load a text-to-image model.", nameof(settings.InitImage));
            return;
        }
        if (VaeEncoderPath is null)
            throw new ArgumentException(Vae is not null
                ? $"The VAE in use ('{Vae.Name}', set with Set-SdVae) has no encoder (vae_encoder/model.onnx), which -InitImage needs. Use a VAE export with its encoder, or reload the model without Set-SdVae."
                : $"The model '{Model.Name}' has no VAE encoder ('{Model.VaeEncoderPath}' is missing), which -InitImage needs. Re-export the model with its vae_encoder.",
                nameof(settings.InitImage));
        if (settings.Mask is null && IsInpaintingUNet)
            throw new ArgumentException(
                $"'{Model.Name}' is an inpainting model: give -Mask with -InitImage (white = repaint), or use a text-to-image model for image-to-image.",
                nameof(settings.Mask));
        if (settings.Mask is not null && UNet.InChannels != InpaintLatents.InpaintingChannels && UNet.InChannels != UNet.OutChannels)
            throw new ArgumentException(
                $"The UNet takes {UNet.InChannels} channels: neither an inpainting UNet ({InpaintLatents.InpaintingChannels}) nor a {UNet.OutChannels}-channel one for the legacy inpainting blend.",
                nameof(settings.Mask));
        int multiple = Model.VaeScaleFactor;
        if (settings.Width < multiple || settings.Height < multiple)
            throw new ArgumentException(
                $"The init image ({settings.InitImage.Width}×{settings.InitImage.Height}) is smaller than {multiple}×{multiple} pixels; give -Width and -Height to resize it, or a larger image.",
                nameof(settings.InitImage));
    }
}
