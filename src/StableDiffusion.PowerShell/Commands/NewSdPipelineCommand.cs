using System.Management.Automation;
using StableDiffusion.Lora;
using StableDiffusion.Models;
using StableDiffusion.TextualInversion;
using StableDiffusion.Pipeline;
using StableDiffusion.PowerShell.Objects;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Loads a Stable Diffusion ONNX model folder.</para>
/// <para type="description">Loads a diffusers ONNX export (model_index.json, tokenizer, text_encoder, unet, vae_decoder, scheduler) and returns an SdPipeline that the other cmdlets use.</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "SdPipeline")]
[OutputType(typeof(SdPipeline))]
public sealed class NewSdPipelineCommand : PSCmdlet
{
    /// <summary>The model folder (the one holding model_index.json).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "PSPath", "ModelPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The prompt syntax of generations that name none (Invoke-SdGeneration -PromptSyntax): Plain (default) or A1111.</summary>
    [Parameter]
    public PromptSyntax PromptSyntax { get; set; } = PromptSyntax.Plain;

    /// <summary>Auto (CUDA when it loads, else CPU), Cpu or Cuda.</summary>
    [Parameter]
    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Auto;

    /// <summary>CUDA device ordinal.</summary>
    [Parameter]
    [ValidateRange(0, 64)]
    public int DeviceId { get; set; }

    /// <summary>Auto (the model's own), Float16 or Float32: a model of the other precision is refused.</summary>
    [Parameter]
    public ModelPrecision Precision { get; set; } = ModelPrecision.Auto;

    /// <summary>How cuDNN picks convolution algorithms (CUDA).</summary>
    [Parameter]
    public CudnnConvAlgoSearch ConvAlgoSearch { get; set; } = CudnnConvAlgoSearch.Exhaustive;

    /// <summary>Run convolutions in NHWC layout (CUDA).</summary>
    [Parameter]
    public SwitchParameter PreferNhwc { get; set; }

    /// <summary>Let float32 models use TF32 tensor cores (CUDA): faster, about 1e-3 less exact.</summary>
    [Parameter]
    public SwitchParameter AllowTf32 { get; set; }

    /// <summary>Keep cuDNN's convolution workspace small instead of as large as its fastest algorithm wants (CUDA).</summary>
    [Parameter]
    public SwitchParameter LimitConvWorkspace { get; set; }

    /// <summary>Capture the UNet as a CUDA graph per shape and replay it every step.</summary>
    [Parameter]
    public SwitchParameter CudaGraph { get; set; }

    /// <summary>Run the UNet with plain runs (new tensors every step) instead of buffers bound once per generation.</summary>
    [Parameter]
    public SwitchParameter NoIOBinding { get; set; }

    /// <summary>Run the UNet on one dynamic-shape session (the CPU provider's default) instead of one fixed-shape session per batch and size.</summary>
    [Parameter]
    public SwitchParameter DynamicShapes { get; set; }

    /// <summary>Run the UNet on one fixed-shape session per batch and size (the default on CUDA) even on the CPU provider.</summary>
    [Parameter]
    public SwitchParameter FixedShapes { get; set; }

    /// <summary>Threads of each network's intra-op pool (default: ONNX Runtime's, one per physical core).</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThreadCount { get; set; }

    /// <summary>Let idle intra-op threads sleep instead of spinning between runs.</summary>
    [Parameter]
    public SwitchParameter NoThreadSpinning { get; set; }

    /// <summary>Fixed-shape UNet sessions kept loaded at once.</summary>
    [Parameter]
    [ValidateRange(1, 16)]
    public int ShapeCacheSize { get; set; } = 1;

    /// <summary>A VAE export to use instead of the model's (e.g. sd-vae-ft-mse).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? VaePath { get; set; }

    /// <summary>Largest memory arena of the provider, in bytes (CUDA gpu_mem_limit; CPU shared arena, at most 4 GiB - 1).</summary>
    [Parameter]
    [ValidateRange(1L << 20, long.MaxValue)]
    public long MemoryLimit { get; set; }

    /// <summary>How the provider's memory arena grows: NextPowerOfTwo (default), SameAsRequested, or Disabled (CPU: no arena).</summary>
    [Parameter]
    public ArenaStrategy ArenaStrategy { get; set; } = ArenaStrategy.NextPowerOfTwo;

    /// <summary>Release the text encoder and VAE sessions between uses.</summary>
    [Parameter]
    public SwitchParameter LowMemory { get; set; }

    /// <summary>Largest batch one UNet call gets; bigger batches run in sub-batches.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int UNetBatchSize { get; set; }

    /// <summary>Folders where LoRAs are found by name (A1111 &lt;lora:name:w&gt;, Add-SdLora -Path name): name.safetensors.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? LoraPath { get; set; }
    /// <summary>Textual-inversion embeddings to add at load: .safetensors files (their own token) or folders of them (tokens = file names).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? EmbeddingPath { get; set; }

    private MemoryOptions Memory => new()
    {
        MemoryLimit = MyInvocation.BoundParameters.ContainsKey(nameof(MemoryLimit)) ? MemoryLimit : null,
        ArenaStrategy = ArenaStrategy,
        LowMemory = LowMemory,
    };

    private GpuSettings GpuSettings() => new()
    {
        ConvAlgoSearch = ConvAlgoSearch,
        PreferNhwc = PreferNhwc,
        ConvUseMaxWorkspace = !LimitConvWorkspace,
        UseTf32 = AllowTf32,
        CudaArenaStrategy = MyInvocation.BoundParameters.ContainsKey(nameof(ArenaStrategy)) ? ArenaStrategy : null,
    };

    protected override void ProcessRecord()
    {
        if (DynamicShapes && FixedShapes)
        {
            WriteError(ErrorRecords.Argument("-DynamicShapes and -FixedShapes exclude each other: give one, or neither for the provider's default " +
                "(dynamic on the CPU, fixed on CUDA).", "ConflictingShapeOptions", Path));
            return;
        }
        if (Path.IndexOfAny(System.IO.Path.GetInvalidPathChars()) >= 0 || Path.Contains('\0'))
        {
            WriteError(ErrorRecords.Argument($"The model path '{Path.Replace("\0", "\\0")}' holds a character no file path can (NUL); check where the path came from.",
                "InvalidModelPath", Path));
            return;
        }
        var loras = LoraLibrary.Empty;
        if (LoraPath is not null)
        {
            // Checked before the (slow) load: a missing folder is a typo to fix now, not at the first <lora:…> tag.
            var folders = LoraPath.Select(SessionState.Path.GetUnresolvedProviderPathFromPSPath).ToList();
            try
            {
                loras = new LoraLibrary(folders);
            }
            catch (DirectoryNotFoundException e)
            {
                WriteError(new ErrorRecord(e, "LoraPathNotFound", ErrorCategory.ObjectNotFound, folders.First(f => !Directory.Exists(f))));
                return;
            }
        }
        string full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        // Embedding files are read and checked before the (slow) model load; their vector width once the model is there.
        IReadOnlyList<(string Path, string? Token)> embeddings = [];
        if (EmbeddingPath is { Length: > 0 })
        {
            try
            {
                embeddings = EmbeddingSources.Expand(EmbeddingPath.Select(p => SessionState.Path.GetUnresolvedProviderPathFromPSPath(p)));
                foreach (var (file, token) in embeddings) TextualInversionEmbedding.Load(file, token);
            }
            catch (Exception e) when (EmbeddingErrors.Handles(e))
            {
                WriteError(EmbeddingErrors.From(e, full));
                return;
            }
        }
        WriteVerbose($"Loading '{full}' on {ExecutionProvider}.");
        StableDiffusionPipeline engine;
        try
        {
            engine = StableDiffusionPipeline.Load(full, new PipelineOptions { ExecutionProvider = ExecutionProvider, DeviceId = DeviceId, Memory = Memory }
                with { Precision = Precision, Gpu = GpuSettings(), UNetFixedShapes = DynamicShapes ? false : FixedShapes ? true : null,
                    UNetIOBinding = NoIOBinding ? false : null,
                    CudaGraph = CudaGraph, UNetSessionCacheSize = ShapeCacheSize,
                    IntraOpThreads = MyInvocation.BoundParameters.ContainsKey(nameof(ThreadCount)) ? ThreadCount : null,
                    ThreadSpinning = NoThreadSpinning ? false : null, PromptSyntax = PromptSyntax });
        }
        catch (Exception e) when (e is ModelLoadException or ArgumentException or IOException or UnauthorizedAccessException
            or OutOfMemoryException or InvalidOperationException)
        {
            WriteError(ErrorRecords.From(e, e is ModelLoadException ? null : full)); // a load error targets the file at fault
            return;
        }
        if (VaePath is not null)
        {
            try
            {
                engine.ReplaceVae(SessionState.Path.GetUnresolvedProviderPathFromPSPath(VaePath));
            }
            catch (ModelLoadException e)
            {
                engine.Dispose(); // nothing half-loaded stays behind
                WriteError(ErrorRecords.From(e, null, "InvalidVae"));
                return;
            }
        }
        if (embeddings.Count > 0)
        {
            try
            {
                foreach (var added in engine.AddEmbeddings(embeddings))
                    WriteVerbose($"Embedding '{added.Token}' ({added.VectorCount} vector(s)) from '{added.Path}'.");
            }
            catch (Exception e) when (EmbeddingErrors.Handles(e))
            {
                engine.Dispose(); // nothing half-loaded stays behind
                WriteError(EmbeddingErrors.From(e, full));
                return;
            }
        }
        foreach (var warning in engine.Model.Warnings) WriteWarning(warning);
        if (UNetBatchSize > 0) engine.UNetBatchSize = UNetBatchSize;
        engine.LoraLibrary = loras;
        if (engine.ProviderFallbackReason is { } reason)
            WriteWarning($"CUDA is not available, running on the CPU. {reason}");
        WriteObject(new SdPipeline(engine));
    }
}
