using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;

namespace StableDiffusion.Models;

/// <summary>
/// Creates the ONNX Runtime sessions of one pipeline on one execution provider. <see cref="ExecutionProvider.Auto"/>
/// settles on CUDA or the CPU with the first session and keeps that choice for the others.
/// </summary>
public sealed partial class SessionFactory
{
    public SessionFactory(ExecutionProvider requested, int deviceId = 0)
    {
        if (deviceId < 0) throw new ArgumentOutOfRangeException(nameof(deviceId), deviceId, "The CUDA device id must be 0 or more.");
        Requested = requested;
        DeviceId = deviceId;
        Effective = requested == ExecutionProvider.Auto ? null : requested;
    }

    public ExecutionProvider Requested { get; }
    public int DeviceId { get; }

    /// <summary>The provider the sessions really use (null until the first session for Auto).</summary>
    public ExecutionProvider? Effective { get; private set; }

    /// <summary>Why Auto fell back to the CPU, when it did; the cmdlets show it as a warning.</summary>
    public string? FallbackReason { get; private set; }

    /// <summary>Creates a session for one component's graph (external weights are found beside it).</summary>
    public InferenceSession Create(string modelPath, string component) =>
        Create(modelPath, component, options => new InferenceSession(modelPath, options));

    private InferenceSession Create(string modelPath, string component, Func<SessionOptions, InferenceSession> open)
    {
        _ = OrtLog.Env; // the logging environment must exist before the first session
        if (Effective is null)
        {
            try
            {
                var session = CreateOn(ExecutionProvider.Cuda, modelPath, component, open);
                Effective = ExecutionProvider.Cuda;
                return session;
            }
            catch (ModelLoadException e) when (e.Error == ModelLoadError.ProviderUnavailable)
            {
                FallbackReason = e.Message;
                Effective = ExecutionProvider.Cpu;
            }
            catch (OnnxRuntimeException e)
            {
                // The provider loaded but could not build the session (cuDNN missing, no device…): the CPU still can.
                FallbackReason = $"The CUDA provider could not create the {component} session: {e.Message.Trim()}";
                Effective = ExecutionProvider.Cpu;
            }
        }
        return CreateOn(Effective.Value, modelPath, component, open);
    }

    private InferenceSession CreateOn(ExecutionProvider provider, string modelPath, string component, Func<SessionOptions, InferenceSession> open)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // Shapes change with batch and size; a memory pattern planned for one shape regrows the arena for the next.
            EnableMemoryPattern = false,
            LogId = component,
        };
        try
        {
            ApplyMemory(options, provider);
            if (provider == ExecutionProvider.Cuda)
                AppendCuda(options);
            return open(options);
        }
        catch (OnnxRuntimeException e) when (provider != ExecutionProvider.Cuda || Effective is not null)
        {
            options.Dispose();
            throw new ModelLoadException(ModelLoadError.InvalidFile, modelPath,
                $"The {component} graph '{modelPath}' cannot be loaded by ONNX Runtime: {e.Message.Trim()} " +
                "The file may be corrupt or truncated (re-export or re-download it), or its external weights may be missing.", e);
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    private void AppendCuda(SessionOptions options)
    {
        long position = OrtLog.Position;
        try
        {
            if (CudaMemoryOptions() is { } memory)
            {
                using var cuda = new OrtCUDAProviderOptions();
                cuda.UpdateOptions(memory);
                options.AppendExecutionProvider_CUDA(cuda);
            }
            else
                options.AppendExecutionProvider_CUDA(DeviceId);
        }
        catch (OnnxRuntimeException e)
        {
            throw CudaUnavailable(e, OrtLog.Since(position));
        }
    }

    /// <summary>Turns ONNX Runtime's generic "failed to load" into a message naming the missing library.</summary>
    internal static ModelLoadException CudaUnavailable(Exception cause, IReadOnlyList<string> nativeLog)
    {
        string? library = null, detail = null;
        foreach (var line in nativeLog)
        {
            var m = MissingLibrary().Match(line);
            if (m.Success)
            {
                library = m.Groups["lib"].Value;
                detail = m.Groups["why"].Value.Trim();
            }
        }
        string what = library is null
            ? $"ONNX Runtime's CUDA provider failed to start ({cause.Message.Trim()})."
            : $"ONNX Runtime's CUDA provider cannot load {library} ({detail}).";
        return new ModelLoadException(ModelLoadError.ProviderUnavailable, library ?? "CUDAExecutionProvider",
            what + " The CUDA provider needs an NVIDIA driver with CUDA 13 and cuDNN 9 on the library path " +
            "(LD_LIBRARY_PATH on Linux, PATH on Windows). Use -ExecutionProvider Cpu to run on the CPU.", cause);
    }

    // e.g. "Failed to load library …/libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file: No such file or directory"
    [GeneratedRegex(@"with error:\s*(?<lib>[^\s:]+)\s*:\s*(?<why>.+)$|LoadLibrary failed with error (?<why>\d+).*?""(?<lib>[^""]+)""")]
    private static partial Regex MissingLibrary();
}
