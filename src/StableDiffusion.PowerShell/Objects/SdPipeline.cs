using StableDiffusion.Models;
using StableDiffusion.Pipeline;

namespace StableDiffusion.PowerShell.Objects;

/// <summary>
/// A loaded Stable Diffusion model, as the cmdlets pass it along the PowerShell pipeline. Dispose it
/// (or let the session end) to free the ONNX Runtime sessions and their native memory.
/// </summary>
public sealed class SdPipeline : IDisposable
{
    internal SdPipeline(StableDiffusionPipeline engine) => Engine = engine;

    /// <summary>The library pipeline behind this object.</summary>
    public StableDiffusionPipeline Engine { get; }

    /// <summary>Model folder name.</summary>
    public string Model => Engine.Model.Name;

    /// <summary>StableDiffusion (1.x/2.x) or StableDiffusionXL (base, Turbo, refiner): recognised from the folder.</summary>
    public ModelFamily Family => Engine.Family;

    /// <summary>The guidance scale Invoke-SdGeneration uses when none is given: diffusers' default for the family (SDXL 5, SD 7.5).</summary>
    public float DefaultGuidanceScale => Engine.DefaultGuidanceScale;

    /// <summary>The prompt syntax of generations that name none; piping the pipeline into Invoke-SdGeneration binds it.</summary>
    public PromptSyntax PromptSyntax => Engine.Options.PromptSyntax;

    /// <summary>Model folder path.</summary>
    public string Path => Engine.Model.Path;

    /// <summary>The provider the networks run on.</summary>
    public ExecutionProvider ExecutionProvider => Engine.Provider;

    /// <summary>The provider that was asked for (Auto may have become Cpu).</summary>
    public ExecutionProvider RequestedExecutionProvider => Engine.RequestedProvider;

    public int DeviceId => Engine.DeviceId;

    /// <summary>float32 or float16.</summary>
    public string Precision => Engine.Precision;

    /// <summary>
    /// The scheduler new generations use (shown as its diffusers class name and the options that differ from the model's).
    /// Typed as a -Scheduler argument so that piping the pipeline into Invoke-SdGeneration binds its own scheduler.
    /// </summary>
    public SdSchedulerArgument Scheduler => new(Engine.Scheduler, Engine.DescribeScheduler());

    /// <summary>The swapped-in VAE folder, or null for the model's own.</summary>
    public string? Vae => Engine.Vae?.Path;

    /// <summary>
    /// The CUDA (or TensorRT) provider options the sessions got, read back from ONNX Runtime: every key, defaults
    /// included. Empty on the CPU, whose provider takes none.
    /// </summary>
    public IReadOnlyDictionary<string, string> ProviderOptions => Engine.ProviderOptions;

    /// <summary>True when the UNet runs one fixed-shape session per batch and size.</summary>
    public bool FixedShapes => Engine.UNet.UsesFixedShapes;

    /// <summary>True when the UNet's inputs and outputs are bound once and reused every step.</summary>
    public bool IOBinding => Engine.UNet.UsesIOBinding;

    /// <summary>True when the UNet replays a captured CUDA graph every step.</summary>
    public bool CudaGraph => Engine.UNet.UsesCudaGraph;

    /// <summary>Default image size of the model.</summary>
    public int DefaultSize => Engine.Model.DefaultImageSize;

    /// <summary>Attention slicing in use: Off, Auto, Max or a number of heads per slice (Enable-SdAttentionSlicing).</summary>
    public string AttentionSlicing => Engine.AttentionSlicing?.SliceSize.ToString() ?? "Off";

    /// <summary>The LoRAs fused into the sessions, as name:weight (Add-SdLora; Get-SdLora gives the details).</summary>
    public string[] Lora => Engine.Loras.Select(l => $"{l.Name}:{l.Weight.ToString(System.Globalization.CultureInfo.InvariantCulture)}").ToArray();

    /// <summary>Whether images are decoded one at a time (Enable-SdVaeSlicing).</summary>
    public bool VaeSlicing => Engine.VaeSlicing;

    /// <summary>Largest batch one UNet call gets (null: the whole batch).</summary>
    public int? UNetBatchSize => Engine.UNetBatchSize;

    /// <summary>Largest memory arena of the provider in bytes (null: unlimited).</summary>
    public long? MemoryLimit => Engine.Memory.MemoryLimit;

    /// <summary>How the provider's memory arena grows.</summary>
    public ArenaStrategy ArenaStrategy => Engine.Memory.ArenaStrategy;

    /// <summary>Whether the text encoder and VAE sessions are released between uses.</summary>
    public bool LowMemory => Engine.Memory.LowMemory;

    /// <summary>The memory settings in one line (the table view's Memory column).</summary>
    public string Memory
    {
        get
        {
            var parts = new List<string>();
            if (Engine.AttentionSlicing is { } slicing) parts.Add($"attention slicing {slicing.SliceSize}");
            if (VaeSlicing) parts.Add("VAE slicing");
            if (UNetBatchSize is { } n) parts.Add($"UNet batch {n}");
            if (Engine.Memory.ToString() is var options && options != "default") parts.Add(options);
            return parts.Count == 0 ? "default" : string.Join(", ", parts);
        }
    }

    /// <summary>Whether Dispose was called; every cmdlet then refuses the pipeline (PipelineDisposed).</summary>
    public bool IsDisposed => Engine.IsDisposed;

    /// <summary>
    /// Frees the sessions. A generation running with this pipeline (another runspace) is cancelled and waited for
    /// first; it ends with the PipelineDisposed error. Safe to call more than once, from any thread.
    /// </summary>
    public void Dispose() => Engine.Dispose();

    // The session properties (Precision) refuse a disposed pipeline; its name is still worth showing.
    public override string ToString() => IsDisposed ? $"{Model} (disposed)" : $"{Model} ({ExecutionProvider}, {Precision}, {Scheduler})";
}
