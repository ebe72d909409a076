using System.Management.Automation;
using Microsoft.PowerShell.Commands;
using StableDiffusion.Imaging;
using StableDiffusion.Pipeline;
using StableDiffusion.Prompts;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Generates images from text prompts, optionally starting from an init image (image-to-image) and a mask (inpainting).</para>
/// <para type="description">Runs the Stable Diffusion pipeline for each prompt (piped by value or by property name) and writes SdImage objects as each batch finishes.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "SdGeneration")]
[OutputType(typeof(SdImage), typeof(SdLatents))]
public sealed class InvokeSdGenerationCommand : PSCmdlet
{
    private GenerationBatcher<PendingImage> _batcher = null!;
    private readonly CancellationTokenSource _stop = new();
    private int _nextIndex;
    private int _done;
    private readonly SourceImageCache _images = new();
    private HashSet<string> _givenOnCommandLine = [];
    private PipelineRowBinder _rows = null!;
    private int _rowNumber;

    /// <summary>The loaded model (New-SdPipeline).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public SdPipeline Pipeline { get; set; } = null!;

    /// <summary>What to draw; several prompts give several images.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string[] Prompt { get; set; } = [];

    /// <summary>What to steer away from: one for every prompt, or one per prompt.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    [AllowNull]
    public string[]? NegativePrompt { get; set; }

    /// <summary>Seeds: one for every prompt, or one per prompt; none gives a random seed, recorded in the image.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public long[]? Seed { get; set; }

    /// <summary>Denoising steps.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int Steps { get; set; } = GenerationDefaults.Steps;

    /// <summary>Classifier-free guidance scale (1 or less: no guidance); default: the model family's (SDXL 5, SD 7.5; see the pipeline's DefaultGuidanceScale).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("CfgScale", "Guidance")]
    [AllowNull]
    [OptionalNumber]
    public double? GuidanceScale { get; set; }

    /// <summary>Image width in pixels: a multiple of the model's size step (VAE factor × UNet downsampling, 64 for SD 1.x); default: the model's size.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int? Width { get; set; }

    /// <summary>Image height in pixels: a multiple of the model's size step (VAE factor × UNet downsampling, 64 for SD 1.x); default: the model's size.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int? Height { get; set; }

    /// <summary>Images per prompt; image j uses seed + j.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int ImagesPerPrompt { get; set; } = GenerationDefaults.ImagesPerPrompt;

    /// <summary>DDIM's η (0: deterministic); schedulers without it ignore it.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public double Eta { get; set; } = GenerationDefaults.Eta;

    /// <summary>diffusers' guidance_rescale (0 to 1), for zero-terminal-SNR v-prediction models.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public double GuidanceRescale { get; set; } = GenerationDefaults.GuidanceRescale;

    /// <summary>A scheduler for this call only: a name, or a hashtable with Name and options.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SchedulerNameCompleter))]
    public SdSchedulerArgument? Scheduler { get; set; }

    /// <summary>Images sent through the UNet together.</summary>
    [Parameter]
    public int BatchSize { get; set; } = GenerationDefaults.BatchSize;

    /// <summary>The image to start from (image-to-image; with -Mask inpainting): a path, a file, an SdImage or an ImageSharp image.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    public SdImageArgument? InitImage { get; set; }

    /// <summary>The inpainting mask (white = repaint), the init image's size: a path, a file, an SdImage or an ImageSharp image.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    public SdImageArgument? Mask { get; set; }

    /// <summary>How much of the init image is noised away, 0 to 1; default: 0.8 for image-to-image, 1 for inpainting (diffusers').</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [OptionalNumber]
    public double? Strength { get; set; }

    /// <summary>Inpaint only a crop around the mask, this many pixels wider (diffusers' padding_mask_crop).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [OptionalNumber(integer: true)]
    public int? MaskCropPadding { get; set; }

    /// <summary>SDXL: the prompt for the second text encoder (diffusers' prompt_2): one for every prompt, or one per prompt; default: the prompt.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    [AllowNull]
    public string[]? Prompt2 { get; set; }

    /// <summary>SDXL: the negative prompt for the second text encoder (negative_prompt_2): one for every prompt, or one per prompt; default: the negative prompt.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    [AllowNull]
    public string[]? NegativePrompt2 { get; set; }

    /// <summary>diffusers' clip_skip: text encoder layers skipped from the end (1 = one layer earlier than the model's default).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [OptionalNumber(integer: true)]
    public int? ClipSkip { get; set; }

    /// <summary>How the prompts are read: Plain (diffusers, literal, 77 tokens) or A1111 (weights, editing, 75-token chunks); default: the pipeline's.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    public PromptSyntax? PromptSyntax { get; set; }

    /// <summary>A1111 prompts: A1111's emphasis mode (Original, NoNorm, Ignore, None); default Original.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    public EmphasisMode? Emphasis { get; set; }

    /// <summary>A1111 prompts: pad the shorter of prompt and negative prompt with encodings of "" (A1111's "Pad prompt/negative prompt").</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter PadCondUncond { get; set; }

    /// <summary>SDXL micro-conditioning original_size as (height, width): @(1024, 1024) or '1024,1024'; default: the image size.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [NumberPair]
    public HeightWidth? OriginalSize { get; set; }

    /// <summary>SDXL crops_coords_top_left as (top, left): @(0, 0) or '0,0'; default: (0, 0).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [NumberPair(position: true)]
    public TopLeft? CropTopLeft { get; set; }

    /// <summary>SDXL target_size as (height, width); default: the image size.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [NumberPair]
    public HeightWidth? TargetSize { get; set; }

    /// <summary>SDXL negative_original_size as (height, width); default: diffusers' (the original size).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [NumberPair]
    public HeightWidth? NegativeOriginalSize { get; set; }

    /// <summary>SDXL negative_crops_coords_top_left as (top, left); default: (0, 0).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [NumberPair(position: true)]
    public TopLeft? NegativeCropTopLeft { get; set; }

    /// <summary>SDXL negative_target_size as (height, width); default: diffusers' (the target size).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [NumberPair]
    public HeightWidth? NegativeTargetSize { get; set; }

    /// <summary>SDXL refiner aesthetic_score; default 6.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [OptionalNumber]
    public double? AestheticScore { get; set; }

    /// <summary>SDXL refiner negative_aesthetic_score; default 2.5.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [OptionalNumber]
    public double? NegativeAestheticScore { get; set; }

    /// <summary>diffusers' denoising_start (0 to 1, exclusive): skip the first part of the schedule (the refiner after a base with -DenoisingEnd).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [OptionalNumber]
    public double? DenoisingStart { get; set; }

    /// <summary>diffusers' denoising_end (0 to 1, exclusive): stop after this part of the schedule (the base before the refiner).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [OptionalNumber]
    public double? DenoisingEnd { get; set; }

    /// <summary>Image (SdImage objects, the default) or Latent (SdLatents objects, undecoded, to pipe to a refiner).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [EmptyAsNull]
    public GenerationOutput? OutputType { get; set; }

    /// <summary>Latents to start from (an SdLatents object's InitLatents, bound when it is piped in): the refiner's input.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    public LatentImage? InitLatents { get; set; }

    /// <summary>
    /// Each piped object as it came, so that a row (an Import-Csv record, a hashtable) is bound by the command's own rules
    /// (<see cref="PipelineRowBinder"/>) rather than PowerShell's silent ones. Not for direct use.
    /// </summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    [PipelineRowMarker]
    public PSObject? InputObject { get; set; }

    protected override void BeginProcessing()
    {
        _givenOnCommandLine = new HashSet<string>(MyInvocation.BoundParameters.Keys, StringComparer.OrdinalIgnoreCase);
        _rows = new PipelineRowBinder(this, _givenOnCommandLine);
        try { GenerationLimits.CheckBatchSize(BatchSize); }
        catch (InvalidSettingException e) { ThrowTerminatingError(ErrorRecords.From(e, BatchSize)); }
        _batcher = new GenerationBatcher<PendingImage>(BatchSize, p => p.Settings);
    }

    /// <summary>An image waiting for its batch: the request and the settings of the record it came from.</summary>
    private sealed record PendingImage(ImageRequest Request, GenerationSettings Settings);

    /// <summary>
    /// A DenoisingEnd that arrives from the pipeline with the latents (an SdLatents object's) is where the stage that made
    /// them stopped, not an end for this stage: it is not applied (this stage takes -DenoisingStart).
    /// </summary>
    private double? EffectiveDenoisingEnd()
    {
        if (InitLatents is null || DenoisingEnd is null || _givenOnCommandLine.Contains(nameof(DenoisingEnd)) || _givenOnCommandLine.Contains(nameof(InitLatents)))
            return DenoisingEnd;
        WriteVerbose($"DenoisingEnd {DenoisingEnd} came with the latents (where their stage stopped); it is not applied to this stage.");
        return null;
    }

    protected override void ProcessRecord()
    {
        PipelineRowMarkerAttribute.Clear();
        this.Live(Pipeline);
        // A row that does not bind is this row's error (before its images are read); the other rows still render.
        if (InputObject is not null && PipelineRowBinder.IsRow(InputObject))
        {
            var rowProblems = _rows.Bind(this, InputObject, ++_rowNumber);
            foreach (var rowProblem in rowProblems)
                WriteError(new ErrorRecord(new ArgumentException(rowProblem.Message), rowProblem.ErrorId, rowProblem.Category, InputObject));
            if (rowProblems.Count > 0) return;
        }
        // The input images first: a missing or unreadable file is this record's error, before any model work.
        if (!TryLoad(InitImage, nameof(InitImage), "init image", out var initImage) || !TryLoad(Mask, nameof(Mask), "mask", out var mask))
            return;
        if (ImageTaskRules.Check(initImage, mask, Strength, MaskCropPadding, Steps, initLatents: InitLatents is not null) is [var problem, ..])
        {
            object? target = problem.Setting switch
            {
                nameof(InitImage) => InitImage?.ToString(),
                nameof(Mask) => Mask?.ToString(),
                nameof(Strength) => Strength,
                _ => MaskCropPadding,
            };
            WriteError(ErrorRecords.Argument(problem.Message, problem.ErrorId, target));
            return;
        }

        GenerationSettings settings;
        List<ImageRequest> requests;
        try
        {
            settings = new GenerationSettings
            {
                Conditioning = new SdxlConditioning
                {
                    ClipSkip = ClipSkip,
                    OriginalSize = OriginalSize,
                    CropTopLeft = CropTopLeft,
                    TargetSize = TargetSize,
                    NegativeOriginalSize = NegativeOriginalSize,
                    NegativeCropTopLeft = NegativeCropTopLeft,
                    NegativeTargetSize = NegativeTargetSize,
                    AestheticScore = AestheticScore,
                    NegativeAestheticScore = NegativeAestheticScore,
                },
                InitImage = initImage,
                Mask = mask,
                Strength = Strength,
                MaskCropPadding = MaskCropPadding,
                Steps = Steps,
                GuidanceScale = GuidanceScale is { } guidance ? (float)guidance : Pipeline.Engine.DefaultGuidanceScale,
                Width = Width,
                Height = Height,
                Eta = (float)Eta,
                GuidanceRescale = (float)GuidanceRescale,
                Scheduler = Scheduler?.Choice,
                DenoisingStart = DenoisingStart,
                DenoisingEnd = EffectiveDenoisingEnd(),
                InitLatents = InitLatents,
                Output = OutputType ?? GenerationOutput.Image,
                PromptSyntax = PromptSyntax ?? Pipeline.Engine.Options.PromptSyntax,
                A1111 = new A1111Options { Emphasis = Emphasis ?? EmphasisMode.Original, PadCondUncond = PadCondUncond },
            };
            settings.Validate();
            Pipeline.Engine.CreateScheduler(settings.Scheduler).SetTimesteps(settings.Steps); // names, options and the step count checked now
            requests = Expand();
            if (settings.PromptSyntax == StableDiffusion.Pipeline.PromptSyntax.A1111)
                foreach (var request in requests)
                {
                    A1111PromptEncodingStage.Check(request, settings.Steps, settings.A1111.Emphasis);
                    Pipeline.Engine.CheckA1111Networks(request); // <lora:name> tags found in -LoraPath, embeddings placeable, before any work
                }
        }
        catch (PromptSyntaxException e)
        {
            WriteError(ErrorRecords.Argument($"{e.Message} Fix the prompt, or read it literally with -PromptSyntax Plain.", "InvalidA1111Prompt", e.Prompt));
            return;
        }
        catch (FormatException e)
        {
            WriteError(ErrorRecords.From(new ArgumentException(e.Message, e), Scheduler, "InvalidSchedulerOption"));
            return;
        }
        catch (ArgumentException e)
        {
            WriteError(ErrorRecords.From(e, Prompt.Length == 1 ? Prompt[0] : Prompt, "InvalidGenerationArgument"));
            return;
        }

        foreach (var request in requests)
            foreach (var batch in _batcher.Add(new PendingImage(request, settings)))
                Render(batch);
    }

    /// <summary>
    /// The image an -InitImage or -Mask argument names: in memory as given, or its file (FileSystem paths only, resolved
    /// against the current location, each file decoded once per call). False after writing the record's error.
    /// </summary>
    private bool TryLoad(SdImageArgument? argument, string parameter, string what, out SourceImage? image)
    {
        image = null;
        if (argument is null) return true;
        if (argument.Image is { } inMemory)
        {
            image = inMemory;
            return true;
        }
        if (argument.Path is null)
        {
            if (argument.Recorded is { } recorded)
            {
                WriteError(ErrorRecords.Argument(
                    $"'{argument.RecordedIn}' was generated from an {what} that was not a file ({recorded}); give it with -{parameter}.",
                    $"{parameter}NotRecorded", argument.RecordedIn));
                return false;
            }
            return true; // an empty cell: no image
        }

        string path;
        if (argument.Path.Contains('\0') || argument.Path.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            WriteError(ErrorRecords.Argument($"The {what} path '{argument.Path.Replace("\0", "\\0")}' holds a character no file path can (NUL); check where the path came from.",
                $"{parameter}InvalidPath", argument.Path));
            return false;
        }
        try
        {
            path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(argument.Path, out var provider, out _);
            if (provider.ImplementingType != typeof(FileSystemProvider))
            {
                WriteError(ErrorRecords.Argument(
                    $"The {what} '{argument.Path}' is on the {provider.Name} provider; give the path of an image file.", $"{parameter}NotAFile", argument.Path));
                return false;
            }
        }
        catch (Exception e) when (e is System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or ItemNotFoundException or PSArgumentException or NotSupportedException)
        {
            WriteError(new ErrorRecord(new FileNotFoundException($"The {what} '{argument.Path}' cannot be found: {e.Message}", argument.Path, e),
                $"{parameter}NotFound", ErrorCategory.ObjectNotFound, argument.Path));
            return false;
        }

        try
        {
            int read = _images.FilesRead;
            image = _images.Load(path);
            if (_images.FilesRead > read) WriteVerbose($"Read the {what} '{path}': {image.Width}×{image.Height} {image.Mode}, SHA-256 {image.Sha256}.");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            string location = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
            WriteError(new ErrorRecord(new FileNotFoundException(
                $"The {what} '{path}' does not exist. Check the path (a relative path starts at the current location, '{location}').", path, e),
                $"{parameter}NotFound", ErrorCategory.ObjectNotFound, path));
            return false;
        }
        catch (InvalidDataException e)
        {
            WriteError(new ErrorRecord(new InvalidDataException($"The {what} '{path}' cannot be used: {e.Message}", e),
                $"{parameter}Unreadable", ErrorCategory.InvalidData, path));
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(new IOException($"The {what} '{path}' cannot be read: {e.Message} Check that the file is readable and not locked.", e),
                $"{parameter}ReadError", e is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.ReadError, path));
            return false;
        }
        if (argument.Recorded is { } expected && expected.Sha256 != image.Sha256)
            WriteWarning($"The {what} '{path}' is not the one '{argument.RecordedIn}' was generated from: its pixels' SHA-256 is {image.Sha256}, " +
                $"the image records {expected}. The result will differ from that image.");
        return true;
    }

    protected override void EndProcessing()
    {
        PipelineRowMarkerAttribute.Clear();
        if (_batcher.Flush() is { } last) Render(last);
        if (ShowProgress)
        {
            WriteProgress(new ProgressRecord(ProgressObserver.StepsId, "Steps", "Done") { ParentActivityId = ProgressObserver.ImagesId, RecordType = ProgressRecordType.Completed });
            WriteProgress(new ProgressRecord(ProgressObserver.ImagesId, "Generating images", "Done") { RecordType = ProgressRecordType.Completed });
        }
    }

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>Prompts × images per prompt, with their seeds and negative prompts.</summary>
    private List<ImageRequest> Expand()
    {
        int n = Prompt.Length;
        GenerationLimits.CheckImagesPerPrompt(ImagesPerPrompt); // before the list below is sized by it
        var seeds = Seed ?? [];
        if (seeds.Length > 1 && seeds.Length != n)
            throw new ArgumentException(
                $"{seeds.Length} seeds were given for {n} prompt(s): give one seed for every prompt, or exactly one per prompt. " +
                "For several images of one prompt use -ImagesPerPrompt (image j uses seed + j).", nameof(Seed));
        foreach (var s in seeds) GenerationLimits.CheckSeed(s);
        var negatives = PerPrompt(NegativePrompt, n, nameof(NegativePrompt), "negative prompts");
        var prompts2 = PerPrompt(Prompt2, n, nameof(Prompt2), "second prompts (-Prompt2)");
        var negatives2 = PerPrompt(NegativePrompt2, n, nameof(NegativePrompt2), "second negative prompts (-NegativePrompt2)");

        var list = new List<ImageRequest>(n * ImagesPerPrompt);
        for (int p = 0; p < n; p++)
        {
            long seed = seeds.Length == 0 ? System.Random.Shared.NextInt64(0, 1L << 32) : seeds.Length == 1 ? seeds[0] : seeds[p];
            list.AddRange(ImageRequests.ForPrompt(Prompt[p] ?? "", For(negatives, p), For(prompts2, p), For(negatives2, p), [seed], ImagesPerPrompt, _nextIndex));
            _nextIndex += ImagesPerPrompt;
        }
        return list;
    }

    /// <summary>Texts given for every prompt (one) or per prompt (exactly one each); none is an empty array.</summary>
    private static string[] PerPrompt(string[]? values, int prompts, string parameter, string what)
    {
        values ??= [];
        if (values.Length > 1 && values.Length != prompts)
            throw new ArgumentException(
                $"{values.Length} {what} were given for {prompts} prompt(s): give one for every prompt, or exactly one per prompt.", parameter);
        return values;
    }

    private static string? For(string[] values, int prompt) => values.Length == 0 ? null : values.Length == 1 ? values[0] : values[prompt];

    /// <summary>One batch through the library's batcher: a failed batch is retried image by image, so only a failing image reports.</summary>
    private void Render(IReadOnlyList<PendingImage> batch)
    {
        // A1111 prompts are chunked, never truncated.
        foreach (var pending in batch)
            if (pending.Settings.PromptSyntax == StableDiffusion.Pipeline.PromptSyntax.Plain) WarnIfTruncated(pending.Request);
        try
        {
            if (batch[0].Settings.Output == GenerationOutput.Latent)
                _batcher.Render(batch, p => p.Request, GenerateLatents, deliver: (_, result, _) => Emit(result),
                    Retrying(batch), Failed, IsCancellation, retryLoneImage: false);
            else
                _batcher.Render(batch, p => p.Request, Generate, deliver: (_, result, _) => Emit(result),
                    Retrying(batch), Failed, IsCancellation, retryLoneImage: false);
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (PipelineDisposedException e)
        {
            // Disposed from another runspace while this batch ran: it was cancelled, and no later batch can run.
            ThrowTerminatingError(ErrorRecords.PipelineDisposed(Pipeline, e));
        }
    }

    private Action<PendingImage, Exception> Retrying(IReadOnlyList<PendingImage> batch) =>
        (p, e) => WriteVerbose($"Image {p.Request.Index} failed in a batch of {batch.Count} ({e.Message}); retrying it alone.");

    // The pipeline's own checks (a task this model cannot run: no VAE encoder, an inpainting UNet without a mask, a refiner
    // without an image or latents…) are argument errors.
    private void Failed(PendingImage p, Exception e, int attempts) =>
        WriteError(ErrorRecords.From(e, p.Request, e is ArgumentException ? "InvalidGenerationArgument" : "GenerationFailed"));

    private static bool IsCancellation(Exception e) => e is OperationCanceledException or PipelineStoppedException or PipelineDisposedException;

    private void Emit(GenerationResult result)
    {
        WriteTimings(result.Request, result.Timings);
        WriteObject(new SdImage(result));
        _done++;
    }

    private void Emit(LatentResult result)
    {
        WriteTimings(result.Request, result.Timings);
        WriteObject(new SdLatents(result));
        _done++;
    }

    private void WriteTimings(ImageRequest request, GenerationTimings t) =>
        WriteVerbose($"Image {request.Index} (seed {request.Seed}): tokenize {t.Tokenize.TotalMilliseconds:F0} ms, " +
            $"text encoder {t.TextEncoder.TotalMilliseconds:F0} ms, {t.Iterations} steps {(t.UNet + t.Scheduler).TotalMilliseconds:F0} ms " +
            $"({t.IterationsPerSecond:F2} it/s), VAE {t.VaeDecoder.TotalMilliseconds:F0} ms (batch of {t.BatchSize}).");

    private IReadOnlyList<GenerationResult> Generate(IReadOnlyList<ImageRequest> batch, GenerationSettings settings)
    {
        var progress = new ProgressObserver(this, batch, _done);
        return Pipeline.Engine.Generate(batch, settings, progress, _stop.Token);
    }

    private IReadOnlyList<LatentResult> GenerateLatents(IReadOnlyList<ImageRequest> batch, GenerationSettings settings) =>
        Pipeline.Engine.GenerateLatents(batch, settings, new ProgressObserver(this, batch, _done), _stop.Token);

    private void WarnIfTruncated(ImageRequest request)
    {
        var tokenizer2 = Pipeline.Engine.Tokenizer2 ?? Pipeline.Engine.Tokenizer;
        foreach (var (text, tokenizer) in new[] { (request.Prompt, Pipeline.Engine.Tokenizer), (request.NegativePrompt, Pipeline.Engine.Tokenizer),
            (request.Prompt2, tokenizer2), (request.NegativePrompt2, tokenizer2) })
        {
            if (string.IsNullOrEmpty(text)) continue;
            var tokens = tokenizer.Encode(text);
            if (tokens.Truncated)
                WriteWarning($"Prompt of image {request.Index} is longer than the text encoder's {tokenizer.MaxLength} tokens; this part is ignored: \"{tokens.TruncatedText}\"");
        }
    }

    /// <summary>
    /// Progress is for people: skipped when the console host runs non-interactively (scheduled tasks, CI logs), where
    /// it would only add noise. $ProgressPreference is honoured by PowerShell itself.
    /// </summary>
    /// <summary>Whether verbose records are wanted (avoids formatting one per step for nothing).</summary>
    private bool Verbose => _verbose ??= MyInvocation.BoundParameters.TryGetValue("Verbose", out var v)
        ? ((SwitchParameter)v).IsPresent
        : SessionState.PSVariable.GetValue("VerbosePreference") is ActionPreference p && p != ActionPreference.SilentlyContinue && p != ActionPreference.Ignore;

    private bool? _verbose;

    private bool ShowProgress => !(Host.Name == "ConsoleHost" && NonInteractiveProcess.Value);

    private static readonly Lazy<bool> NonInteractiveProcess = new(() =>
        Environment.GetCommandLineArgs().Skip(1).Any(a => a.Length >= 5 && "-noninteractive".StartsWith(a, StringComparison.OrdinalIgnoreCase)));

    /// <summary>
    /// Turns pipeline steps into Write-Progress records (on the pipeline thread: Generate runs there): a parent record for
    /// the images, a child for the steps of the batch in flight, whose activity names the prompt.
    /// </summary>
    private sealed class ProgressObserver(InvokeSdGenerationCommand command, IReadOnlyList<ImageRequest> batch, int done) : GenerationObserver
    {
        public const int ImagesId = 1;
        public const int StepsId = 2;

        public override void OnStep(StepInfo step)
        {
            if (command.Verbose)
                command.WriteVerbose($"Step {step.Iteration + 1}/{step.Iterations} (t = {step.Timestep:0.###}): {step.Elapsed.TotalMilliseconds:F1} ms");
            if (!command.ShowProgress) return;
            string prompt = batch[0].Prompt.Length > 60 ? batch[0].Prompt[..57] + "..." : batch[0].Prompt;
            int first = done + 1, last = done + batch.Count;
            command.WriteProgress(new ProgressRecord(ImagesId, "Generating images",
                first == last ? $"Image {first} (seed {batch[0].Seed})" : $"Images {first}-{last} (batch of {batch.Count})"));
            command.WriteProgress(new ProgressRecord(StepsId, $"'{prompt}'" + (batch.Count > 1 ? $" and {batch.Count - 1} more" : ""),
                $"Step {step.Iteration + 1} of {step.Iterations}")
            {
                ParentActivityId = ImagesId,
                PercentComplete = (int)(100.0 * (step.Iteration + 1) / step.Iterations),
                SecondsRemaining = (int)Math.Ceiling(step.Elapsed.TotalSeconds * (step.Iterations - step.Iteration - 1)),
            });
        }
    }
}
