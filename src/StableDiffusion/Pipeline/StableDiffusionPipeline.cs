using System.Diagnostics;
using StableDiffusion.Imaging;
using StableDiffusion.Models;
using StableDiffusion.Random;
using StableDiffusion.Schedulers;
using StableDiffusion.Tensors;
using StableDiffusion.Text;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Text-to-image Stable Diffusion on ONNX Runtime with diffusers' semantics (StableDiffusionPipeline 0.35):
/// tokenize → text encoder → per-image torch-exact noise → scheduler loop with classifier-free guidance → VAE decode.
/// Owns its sessions; dispose it to free native memory. One generation at a time per instance (others wait their turn).
/// Every operation runs inside <see cref="_gate"/>: disposing cancels the runs in flight and frees the sessions only once
/// they have left, and afterwards every operation throws <see cref="PipelineDisposedException"/>.
/// </summary>
public sealed partial class StableDiffusionPipeline : IDisposable
{
    private readonly SessionFactory _sessions;
    private readonly object _runLock = new();
    private readonly PipelineGate _gate;
    private SchedulerChoice _scheduler;
    private UNet _unet;

    private StableDiffusionPipeline(ModelFolder model, SessionFactory sessions, ClipTokenizer tokenizer,
        TextEncoder textEncoder, UNet unet, VaeDecoder vaeDecoder, SchedulerConfig schedulerConfig, SchedulerChoice scheduler)
    {
        Model = model;
        _gate = new PipelineGate(ReleaseSessions, duringRun => new PipelineDisposedException(model.Name, duringRun));
        _sessions = sessions;
        Tokenizer = tokenizer;
        _textEncoder = textEncoder;
        _unet = unet;
        _vaeDecoder = vaeDecoder;
        SchedulerConfig = schedulerConfig;
        _scheduler = scheduler;
        ReleaseIdleSessions(); // low-memory mode: the text encoder and VAE are loaded when needed
    }

    public ModelFolder Model { get; }
    /// <summary>The prompt's tokenizer: the model's first (SD 1.x/2.x, SDXL base), or SDXL's second when it is the only one (the refiner).</summary>
    public ClipTokenizer Tokenizer { get; }

    /// <summary>The text encoder <see cref="Tokenizer"/> feeds.</summary>
    public TextEncoder TextEncoder => Live(ref _textEncoder, LoadTextEncoder);

    /// <summary>SDXL base: the second tokenizer (tokenizer_2, padding with its own pad token); else null.</summary>
    public ClipTokenizer? Tokenizer2 { get; private init; }

    /// <summary>SDXL base: the second text encoder (text_encoder_2, with the pooled projection); else null.</summary>
    public TextEncoder? TextEncoder2 => Tokenizer2 is null ? null : Live(ref _textEncoder2, LoadTextEncoder2);

    /// <summary>The model family (recognised from the folder): which prompt stage and UNet inputs generations use.</summary>
    public ModelFamily Family => Model.Family;

    /// <summary>The family's diffusers default guidance scale (SDXL 5.0, SD 1.x/2.x 7.5), for callers that were given none.</summary>
    public float DefaultGuidanceScale => Family == ModelFamily.StableDiffusionXL ? GenerationDefaults.SdxlGuidanceScale : GenerationDefaults.GuidanceScale;
    public UNet UNet
    {
        get
        {
            ThrowIfDisposed();
            return _unet;
        }
    }

    public VaeDecoder VaeDecoder { get => Live(ref _vaeDecoder, LoadVaeDecoder); private set => _vaeDecoder = value; }

    /// <summary>Whether <see cref="Dispose"/> was called: every operation then throws <see cref="PipelineDisposedException"/>.</summary>
    public bool IsDisposed => _gate.IsClosed;

    /// <summary>Whether the sessions have been freed (after <see cref="Dispose"/>, once no run is inside).</summary>
    internal bool SessionsReleased => _gate.Released;

    /// <exception cref="PipelineDisposedException">The pipeline was disposed.</exception>
    private void ThrowIfDisposed() => _gate.ThrowIfClosed();

    /// <summary>A component session, loaded on first use — never after disposal, which would load it again and leak it.</summary>
    private T Live<T>(ref T? component, Func<T> load) where T : class
    {
        ThrowIfDisposed();
        return component ??= load();
    }

    /// <summary>The VAE in use when it was swapped (Set-SdVae), else null: the model's own.</summary>
    public VaeFolder? Vae { get; private set; }

    /// <summary>Latent scaling of the VAE in use (the swapped VAE's config, else the model's).</summary>
    public float ScalingFactor => Vae?.ScalingFactor ?? Model.ScalingFactor;

    /// <summary>
    /// Swaps the VAE decoder for another export's (the guide's <c>vae=AutoencoderKL.from_pretrained(...)</c>); the new session is
    /// created before the old one is released, so a bad folder leaves the pipeline as it was.
    /// </summary>
    /// <exception cref="ModelLoadException">The folder has no usable decoder.</exception>
    /// <exception cref="PipelineDisposedException">The pipeline was disposed.</exception>
    public void ReplaceVae(string path) => _gate.Run(() =>
    {
        var folder = VaeFolder.Open(path);
        var decoder = new VaeDecoder(_sessions.Create(folder.DecoderPath, "vae_decoder"), folder.DecoderPath);
        lock (_runLock)
        {
            if (IsDisposed)
            {
                // Disposed while the session loaded: the release frees the old decoder; this one is not swapped in.
                decoder.Dispose();
                ThrowIfDisposed();
            }
            var old = _vaeDecoder;
            VaeDecoder = decoder;
            Vae = folder;
            old?.Dispose();
            _vaeEncoder?.Dispose(); // the next image task loads the new VAE's encoder
            _vaeEncoder = null;
            ReleaseIdleSessions();
        }
    });

    /// <summary>The model's own scheduler configuration (scheduler/scheduler_config.json).</summary>
    public SchedulerConfig SchedulerConfig { get; }

    /// <summary>The scheduler new generations use unless a call overrides it.</summary>
    public SchedulerChoice Scheduler
    {
        get => _scheduler;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            ThrowIfDisposed();
            CreateScheduler(value); // validates name and options now rather than at the next generation
            _scheduler = value;
        }
    }

    /// <summary>The provider asked for.</summary>
    public ExecutionProvider RequestedProvider => _sessions.Requested;

    /// <summary>The provider the sessions run on.</summary>
    public ExecutionProvider Provider => _sessions.Effective ?? ExecutionProvider.Cpu;

    /// <summary>Why Auto fell back to the CPU, if it did.</summary>
    public string? ProviderFallbackReason => _sessions.FallbackReason;

    public int DeviceId => _sessions.DeviceId;

    /// <summary>
    /// The provider options the sessions got, read back from ONNX Runtime (every key, defaults included); empty on the CPU.
    /// </summary>
    public IReadOnlyDictionary<string, string> ProviderOptions => _sessions.ProviderOptions;

    /// <summary>The options this pipeline was loaded with.</summary>
    public PipelineOptions Options { get; private init; } = new();

    /// <summary>"float32" or "float16": the UNet's precision.</summary>
    public string Precision => UNet.Precision;

    /// <summary>Loads a diffusers ONNX model folder. Everything is checked before the first (slow) session is created.</summary>
    /// <exception cref="ModelLoadException">The folder, a component or the provider cannot be loaded.</exception>
    public static StableDiffusionPipeline Load(string path, PipelineOptions? options = null)
    {
        options ??= new PipelineOptions();
        var model = ModelFolder.Open(path);
        // The prompt's tokenizer: the first (SD, SDXL base) or SDXL's second when it is the only one (the refiner).
        var tokenizer = ReadTokenizer(model.HasTextEncoder ? model.TokenizerDirectory : model.Tokenizer2Directory);
        var tokenizer2 = model.HasTextEncoder && model.HasTextEncoder2 ? ReadTokenizer(model.Tokenizer2Directory) : null;
        // Checked on load (numbers in range, a known class unless one is named), errors naming the file.
        var schedulerConfig = ModelSchedulerConfig.Load(model.SchedulerConfigPath, checkClassName: options.Scheduler is null);
        var scheduler = options.Scheduler ?? new SchedulerChoice(schedulerConfig.ClassName ?? "PNDMScheduler");
        SchedulerRegistry.Create(scheduler.Name, schedulerConfig, scheduler.Options); // fail before the sessions load

        if (options.IntraOpThreads is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.IntraOpThreads, "IntraOpThreads must be 1 or more (or null for ONNX Runtime's default).");
        if (options.CudaGraph && (options.ExecutionProvider != ExecutionProvider.Cuda || options.UNetIOBinding == false || options.UNetFixedShapes == false))
            throw new ArgumentException("CUDA graphs need -ExecutionProvider Cuda and the UNet on fixed-shape sessions with IOBinding.", nameof(options));
        var sessions = new SessionFactory(options.ExecutionProvider, options.DeviceId, options.Memory)
            {
                Gpu = options.Gpu, TensorRTFloat16 = options.Precision == ModelPrecision.Float16, FixedShapeMemoryPattern = options.UNetMemoryPattern,
                IntraOpThreads = options.IntraOpThreads, ThreadSpinning = options.ThreadSpinning,
            };
        var loaded = new List<IDisposable>();
        try
        {
            string textPath = model.HasTextEncoder ? model.TextEncoderPath : model.TextEncoder2Path;
            var text = Track(new TextEncoder(sessions.Create(textPath, "text_encoder"), textPath), loaded);
            options = options.ForProvider(sessions.Effective ?? options.ExecutionProvider); // known once the first session exists
            var text2 = tokenizer2 is null ? null : Track(new TextEncoder(sessions.Create(model.TextEncoder2Path, "text_encoder_2"), model.TextEncoder2Path), loaded);
            var unet = Track(LoadUNet(sessions, model.UNetPath, null, options, model.UNetChannels), loaded);
            CheckUNetInputs(unet, model);
            CheckPrecision(options.Precision, unet, model.UNetPath);
            var vae = Track(new VaeDecoder(sessions.Create(model.VaeDecoderPath, "vae_decoder"), model.VaeDecoderPath), loaded);
            return new StableDiffusionPipeline(model, sessions, tokenizer, text, unet, vae, schedulerConfig, scheduler)
                { Options = options, Tokenizer2 = tokenizer2, _textEncoder2 = text2 };
        }
        catch
        {
            foreach (var d in loaded) d.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The UNet on its load-time session; <paramref name="graph"/> is the rewritten UNet when attention slicing is on,
    /// else <paramref name="path"/> is loaded. Its fixed-shape sessions share one copy of the weights where they can.
    /// </summary>
    private static UNet LoadUNet(SessionFactory sessions, string path, Graph.OnnxGraphFile? graph, PipelineOptions options, (int? In, int? Out) channels)
    {
        SharedWeights? shared = null;
        // Shared weights are read back from a graph ONNX Runtime optimized at ORT_ENABLE_ALL, which would drop fused
        // LoRA Conv weights (see LoraSessionOverrides): with a LoRA each fixed-shape session gets the overrides instead.
        bool share = options.UNetSharedWeights && sessions.OverridesFor("unet") is null;
        var session = !options.FixedShapes || !share ? (graph is null ? sessions.Create(path, "unet") : sessions.Create(graph, "unet"))
            : sessions.CreateSharing(path, graph, "unet", out shared);
        return new UNet(session, path, ShapeSessions(sessions, path, graph, shared, options), channels) // disposes both if it throws
            { DynamicIOBinding = options.IOBinding };
    }

    /// <summary>
    /// How the UNet runs on fixed-shape sessions (null: on its load-time dynamic-shape session): on
    /// <paramref name="shared"/> weights when there are, else loading <paramref name="graph"/> or <paramref name="path"/>.
    /// </summary>
    private static UNetShapeSessions? ShapeSessions(SessionFactory sessions, string path, Graph.OnnxGraphFile? graph, SharedWeights? shared,
        PipelineOptions options) =>
        options.FixedShapes
            ? new UNetShapeSessions((dims, cudaGraph) => shared is not null ? sessions.Create(shared, "unet", dims, cudaGraph)
                : graph is null ? sessions.Create(path, "unet", dims, cudaGraph)
                : sessions.Create(graph, "unet", dims, cudaGraph))
            {
                CacheSize = options.UNetSessionCacheSize,
                IOBinding = options.IOBinding,
                CudaGraph = options.CudaGraph,
                DeviceId = options.DeviceId,
                Weights = shared,
            }
            : null;

    /// <summary>Float16 of a float32 export (or the reverse) is refused rather than silently run in the other precision.</summary>
    private static void CheckPrecision(ModelPrecision wanted, UNet unet, string path)
    {
        bool half = unet.Precision == "float16";
        if (wanted == ModelPrecision.Float16 && !half)
            throw new ModelLoadException(ModelLoadError.PrecisionMismatch, path,
                $"Float16 was asked for, but this model is a float32 export ('{path}' takes {unet.FloatType}). Convert it once with " +
                "'ConvertTo-SdFloat16 -Path <this folder> -Destination <new folder>' and load the new folder, or use -Precision Auto.");
        if (wanted == ModelPrecision.Float32 && half)
            throw new ModelLoadException(ModelLoadError.PrecisionMismatch, path,
                $"Float32 was asked for, but this model is a float16 export ('{path}' takes float16). Load the float32 export it " +
                "was made from, or use -Precision Auto to run it in float16.");
    }

    private static ClipTokenizer ReadTokenizer(string directory)
    {
        try
        {
            return ClipTokenizer.FromDirectory(directory);
        }
        catch (Exception e) when (e is IOException or FormatException or System.Text.Json.JsonException or InvalidDataException)
        {
            throw new ModelLoadException(ModelLoadError.InvalidFile, directory, $"The tokenizer in '{directory}' cannot be read: {e.Message}", e);
        }
    }

    private static T Track<T>(T item, List<IDisposable> list) where T : IDisposable
    {
        list.Add(item);
        return item;
    }

    /// <summary>A fresh scheduler instance for <paramref name="choice"/> built on the model's configuration.</summary>
    public IScheduler CreateScheduler(SchedulerChoice? choice = null)
    {
        choice ??= _scheduler;
        return SchedulerRegistry.Create(choice.Name, SchedulerConfig, choice.Options);
    }

    /// <summary>
    /// Resolves null sizes to the task's default (image-to-image: the init image's size rounded down to a multiple of 8, as
    /// diffusers' image processor does; text-to-image and inpainting: the model's size) and a null scheduler to the pipeline's.
    /// </summary>
    public GenerationSettings Resolve(GenerationSettings settings)
    {
        var (width, height) = settings.InitLatents is { } latents
            ? (latents.Width * Model.VaeScaleFactor, latents.Height * Model.VaeScaleFactor)
            : ImageTaskRules.DefaultSize(settings.InitImage, settings.Mask, Model.DefaultImageSize, Model.VaeScaleFactor);
        var resolved = settings with
        {
            Width = settings.Width ?? width,
            Height = settings.Height ?? height,
            Scheduler = settings.Scheduler ?? _scheduler,
        };
        return resolved.WithFamilyStrength(Family);
    }

    /// <summary>
    /// Generates one batch: every image of <paramref name="batch"/> goes through the UNet together.
    /// Results come in the order of <paramref name="batch"/>.
    /// </summary>
    /// <exception cref="PipelineDisposedException">The pipeline was disposed before or during the generation.</exception>
    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<ImageRequest> batch, GenerationSettings settings,
        GenerationObserver? observer = null, CancellationToken cancellation = default) =>
        _gate.Run(cancellation, token => GenerateInGate(batch, settings, observer, token));

    private GenerationResult[] GenerateInGate(IReadOnlyList<ImageRequest> batch, GenerationSettings settings,
        GenerationObserver? observer, CancellationToken cancellation)
    {
        settings = Prepare(batch, settings with { Output = GenerationOutput.Image });
        lock (_runLock)
        {
            cancellation.ThrowIfCancellationRequested(); // disposed while this run waited for its turn
            var run = DenoiseWithPromptLoras(batch, settings, observer, cancellation);

            // 4. Decode.
            var decodeStage = new DecodeStage(DecodeLatents, VaeDecoder.Precision, new Float32VaeFallback(_sessions, VaeDecoder.ModelPath).Decode);
            var images = decodeStage.Decode(run.Latents.Latents, run.Shape, ScalingFactor, run.Latents.Overlay, observer, cancellation);
            var timings = run.Timings with { VaeDecoder = decodeStage.Timings.Vae, Postprocess = decodeStage.Timings.Postprocess };
            var results = new GenerationResult[batch.Count];
            for (int i = 0; i < batch.Count; i++)
            {
                results[i] = new GenerationResult
                {
                    Request = batch[i],
                    Settings = settings,
                    Scheduler = run.Scheduler.Name,
                    SchedulerOptions = run.SchedulerOptions,
                    Model = Model.Name,
                    Vae = Vae?.Name,
                    Precision = Precision,
                    Image = images[i].Image,
                    Pixels = images[i].Pixels,
                    Elapsed = run.Clock.Elapsed / batch.Count,
                    Timings = timings,
                };
            }
            return results;
        }
    }

    /// <summary>
    /// Generates one batch and returns its final latents undecoded (diffusers' <c>output_type="latent"</c>), to hand to another
    /// pipeline: the SDXL base with <see cref="GenerationSettings.DenoisingEnd"/> → the refiner with
    /// <see cref="GenerationSettings.InitLatents"/> and <see cref="GenerationSettings.DenoisingStart"/>.
    /// </summary>
    /// <exception cref="PipelineDisposedException">The pipeline was disposed before or during the generation.</exception>
    public IReadOnlyList<LatentResult> GenerateLatents(IReadOnlyList<ImageRequest> batch, GenerationSettings settings,
        GenerationObserver? observer = null, CancellationToken cancellation = default) =>
        _gate.Run(cancellation, token => GenerateLatentsInGate(batch, settings, observer, token));

    private LatentResult[] GenerateLatentsInGate(IReadOnlyList<ImageRequest> batch, GenerationSettings settings,
        GenerationObserver? observer, CancellationToken cancellation)
    {
        settings = Prepare(batch, settings with { Output = GenerationOutput.Latent });
        lock (_runLock)
        {
            cancellation.ThrowIfCancellationRequested(); // disposed while this run waited for its turn
            var run = DenoiseWithPromptLoras(batch, settings, observer, cancellation);
            var shape = run.Shape;
            var results = new LatentResult[batch.Count];
            for (int i = 0; i < batch.Count; i++)
            {
                results[i] = new LatentResult
                {
                    Request = batch[i],
                    Settings = settings,
                    Scheduler = run.Scheduler.Name,
                    SchedulerOptions = run.SchedulerOptions,
                    Model = Model.Name,
                    Latents = new LatentImage(run.Latents.Latents.AsSpan(i * shape.ImageLength, shape.ImageLength).ToArray(),
                        shape.Channels, shape.Height, shape.Width) { Model = Model.Name },
                    Elapsed = run.Clock.Elapsed / batch.Count,
                    Timings = run.Timings,
                };
            }
            return results;
        }
    }

    /// <summary>Checks the batch and settings before any work, and resolves the defaults.</summary>
    private GenerationSettings Prepare(IReadOnlyList<ImageRequest> batch, GenerationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0) throw new ArgumentException("The batch is empty.", nameof(batch));
        settings.Validate();
        settings = Resolve(settings);
        settings.Validate(); // again: a resolved default (SDXL's strength 0.3) must leave a denoising step too
        CheckFamilyInputs(batch, settings);
        if (settings.PromptSyntax == PromptSyntax.A1111)
            foreach (var request in batch) CheckA1111Networks(request); // a bad tag anywhere is refused before any work
        CheckTask(settings);
        CheckMemory(batch.Count, settings);
        return settings;
    }

    /// <summary>A batch after the denoising loop: its latents (in place) and how it got there.</summary>
    private sealed record DenoisedBatch(PreparedLatents Latents, LatentShape Shape, IScheduler Scheduler,
        IReadOnlyDictionary<string, object?> SchedulerOptions, GenerationTimings Timings, Stopwatch Clock);

    /// <summary>
    /// <see cref="Denoise"/> with the LoRAs of the batch's A1111 <c>&lt;lora:...&gt;</c> tags added to the set, which is
    /// restored afterwards, whether the run succeeds or fails (the VAE that decodes next has no LoRA).
    /// </summary>
    private DenoisedBatch DenoiseWithPromptLoras(IReadOnlyList<ImageRequest> batch, GenerationSettings settings,
        GenerationObserver? observer, CancellationToken cancellation)
    {
        var restoreLoras = ApplyPromptLoras(batch, settings);
        try
        {
            return Denoise(batch, settings, observer, cancellation);
        }
        finally
        {
            restoreLoras?.Invoke();
        }
    }

    /// <summary>Stages 1–3: encode the prompts, prepare the latents, denoise.</summary>
    private DenoisedBatch Denoise(IReadOnlyList<ImageRequest> batch, GenerationSettings settings,
        GenerationObserver? observer, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var scheduler = CreateScheduler(settings.Scheduler);
        scheduler.SetTimesteps(settings.Steps);
        int b = batch.Count;
        bool guided = settings.UsesGuidance;

        // 1. Encode the prompts.
        var promptStage = PromptStage(settings);
        var prompt = promptStage.Encode(batch, guided, cancellation);
        ReleaseIdleSessions();
        var unetInputs = UNetInputs(settings, prompt, b);
        observer?.OnPromptEncoded(prompt, unetInputs);
        var encoded = clock.Elapsed;

        // 2. Prepare the latents: one torch generator per image, drawn in the task's order.
        var shape = new LatentShape(b, UNet.OutChannels, settings.Height!.Value / Model.VaeScaleFactor, settings.Width!.Value / Model.VaeScaleFactor);
        var generators = new IRandomGenerator[b];
        for (int i = 0; i < b; i++) generators[i] = new TorchGenerator(unchecked((ulong)batch[i].Seed));
        var prepared = LatentsStage(settings).Prepare(new LatentsRequest(settings, scheduler, generators, shape, guided, observer), cancellation);
        ReleaseIdleSessions();
        var preparedAt = clock.Elapsed;

        // 3. Denoise, with the family's further UNet inputs (SDXL: pooled embeddings and time ids).
        var denoise = new DenoiseStage(UNet, UNetBatchSize);
        denoise.Run(prompt, prepared, shape, settings, scheduler, generators, observer, cancellation, unetInputs);

        var (unetTime, loopTime, iterations) = denoise.Timings;
        var timings = new GenerationTimings(promptStage.TokenizeTime, encoded - promptStage.TokenizeTime, unetTime, loopTime,
            TimeSpan.Zero, TimeSpan.Zero, iterations, b) { PrepareLatents = preparedAt - encoded };
        return new DenoisedBatch(prepared, shape, scheduler, SchedulerOverrides(scheduler), timings, clock);
    }

    /// <summary>"ClassName" or "ClassName (key=value, …)" with the options that differ from the model's configuration.</summary>
    public string DescribeScheduler(SchedulerChoice? choice = null)
    {
        var scheduler = CreateScheduler(choice);
        var options = SchedulerOverrides(scheduler);
        return options.Count == 0
            ? scheduler.Name
            : $"{scheduler.Name} ({string.Join(", ", options.Select(kv => $"{kv.Key}={(kv.Value is System.Text.Json.Nodes.JsonNode n ? n.ToJsonString() : kv.Value)}"))})";
    }

    /// <summary>
    /// The options of <paramref name="scheduler"/> that differ from what its class takes from the model's configuration
    /// alone: the user's and the alias's overrides, i.e. what must be recorded to rebuild it.
    /// </summary>
    public IReadOnlyDictionary<string, object?> SchedulerOverrides(IScheduler scheduler) => SchedulerOverrides(scheduler, SchedulerConfig);

    /// <summary>
    /// <see cref="SchedulerOverrides(IScheduler)"/> for a model's configuration without a loaded pipeline (render jobs
    /// predict what an image's PNG will record before they load the model).
    /// </summary>
    public static IReadOnlyDictionary<string, object?> SchedulerOverrides(IScheduler scheduler, SchedulerConfig modelConfig)
    {
        var baseline = SchedulerRegistry.Create(scheduler.Name, modelConfig).Config;
        var result = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var key in scheduler.Config.Keys)
        {
            if (key.StartsWith('_')) continue;
            var mine = scheduler.Config.GetNode(key)?.ToJsonString();
            if (mine != baseline.GetNode(key)?.ToJsonString())
                result[key] = mine is null ? null : System.Text.Json.Nodes.JsonNode.Parse(mine);
        }
        return result;
    }

    /// <summary>
    /// Frees the sessions. Runs in flight (other threads or runspaces) are cancelled and waited for first; they end with
    /// <see cref="PipelineDisposedException"/>. Idempotent and thread-safe; called from inside a run (an observer), the
    /// sessions are freed when that run leaves.
    /// </summary>
    public void Dispose() => _gate.Close();

    /// <summary>The gate's release: runs once, when the pipeline is disposed and no operation is inside.</summary>
    private void ReleaseSessions()
    {
        _textEncoder?.Dispose();
        _textEncoder = null;
        _textEncoder2?.Dispose();
        _textEncoder2 = null;
        _unet.Dispose();
        _vaeDecoder?.Dispose();
        _vaeDecoder = null;
        _vaeEncoder?.Dispose();
        _vaeEncoder = null;
    }
}
