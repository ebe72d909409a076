using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace StableDiffusion.Models;

/// <summary>
/// One UNet session with its tensors allocated once for one shape: a fixed-shape session (its free dimensions fixed
/// for one batch and size, owned and cached by the UNet), or the load-time dynamic-shape session borrowed for one
/// denoising loop (<c>ownsSession</c> false), so that its steps allocate nothing either.
/// Through IOBinding every step converts the latents into the same input buffer, binds it (a copy to the device on a
/// GPU, nothing on the CPU) and ONNX Runtime writes the prediction into the same output buffer; the text embeddings
/// are bound once per generation, so on a GPU they stay on the device for every step. With a CUDA graph all four
/// tensors live on the device at fixed addresses. Without IOBinding each step is a plain Run of the same session.
/// </summary>
internal sealed class FixedShapeUNetSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding? _binding;
    private readonly RunOptions _run = new();
    private readonly string _sampleName, _timestepName, _hiddenName, _outputName;
    private readonly HostTensor _sample, _timestep, _hidden, _output;
    private readonly DeviceTensor? _deviceSample, _deviceTimestep, _deviceHidden, _deviceOutput;
    private readonly int _deviceId;
    private readonly UNetIo _io;
    // Further named inputs (SDXL's text_embeds/time_ids…): allocated on first use, when their shapes are known.
    private readonly Dictionary<string, (HostTensor Host, DeviceTensor? Device)> _extras = new(StringComparer.Ordinal);

    private readonly bool _ownsSession;

    public FixedShapeUNetSession(InferenceSession session, UNetShape shape, UNetIo io, bool ioBinding, bool cudaGraph, int deviceId, bool ownsSession = true)
    {
        _session = session;
        _ownsSession = ownsSession;
        Shape = shape;
        _deviceId = deviceId;
        _io = io;
        (_sampleName, _timestepName, _hiddenName, _outputName) = (io.Sample.Name, io.Timestep.Name, io.Hidden.Name, io.Output.Name);
        var created = new List<IDisposable>();
        try
        {
            if (ioBinding) _binding = Track(session.CreateIoBinding(), created);
            _sample = Track(new HostTensor(io.Sample.Type, shape.Sample), created);
            _timestep = Track(new HostTensor(io.Timestep.Type, io.TimestepShape(shape.Batch)), created);
            _hidden = Track(new HostTensor(io.Hidden.Type, shape.Hidden), created);
            _output = Track(new HostTensor(io.Output.Type, [shape.Batch, io.OutChannels, shape.Height, shape.Width]), created);
            if (cudaGraph)
            {
                if (_binding is null) throw new ArgumentException("CUDA graphs need IOBinding.", nameof(cudaGraph));
                _deviceSample = Track(new DeviceTensor(_sample, deviceId), created);
                _deviceTimestep = Track(new DeviceTensor(_timestep, deviceId), created);
                _deviceHidden = Track(new DeviceTensor(_hidden, deviceId), created);
                _deviceOutput = Track(new DeviceTensor(_output, deviceId), created);
                _binding.BindInput(_sampleName, _deviceSample.Value);
                _binding.BindInput(_timestepName, _deviceTimestep.Value);
                _binding.BindInput(_hiddenName, _deviceHidden.Value);
                _binding.BindOutput(_outputName, _deviceOutput.Value);
            }
            else
            {
                _binding?.BindOutput(_outputName, _output.Value); // the provider copies (GPU) or writes (CPU) into it
            }
        }
        catch
        {
            foreach (var d in Enumerable.Reverse(created)) d.Dispose();
            _run.Dispose();
            throw;
        }
    }

    private static T Track<T>(T item, List<IDisposable> list) where T : IDisposable
    {
        list.Add(item);
        return item;
    }

    public UNetShape Shape { get; }

    /// <summary>Live runs using this session (the cache does not evict it while any is).</summary>
    internal int Users { get; set; }

    /// <summary>The text embeddings bound now (another run of the same shape may have bound others since).</summary>
    internal float[]? BoundHiddenStates { get; private set; }

    public bool UsesCudaGraph => _deviceSample is not null;

    public bool UsesIOBinding => _binding is not null;

    /// <summary>
    /// Binds the inputs that stay constant for one generation: the text embeddings ([Batch, SequenceLength, HiddenSize])
    /// and the graph's further named inputs.
    /// </summary>
    public void SetConstantInputs(float[] hiddenStates, IReadOnlyList<NamedTensor> extras)
    {
        BoundHiddenStates = hiddenStates;
        _hidden.Write(hiddenStates);
        foreach (var extra in extras)
        {
            if (!_extras.TryGetValue(extra.Name, out var tensor) || !tensor.Host.Shape.AsSpan().SequenceEqual(extra.Shape))
            {
                if (tensor.Host is not null && _deviceSample is not null)
                    throw new InvalidOperationException($"The UNet input '{extra.Name}' changed shape under a captured CUDA graph.");
                tensor.Host?.Dispose();
                tensor.Device?.Dispose();
                var host = new HostTensor(_io.Extras.First(e => e.Name == extra.Name).Type, extra.Shape);
                tensor = (host, _deviceSample is not null ? new DeviceTensor(host, _deviceId) : null);
                _extras[extra.Name] = tensor;
                if (tensor.Device is not null) _binding!.BindInput(extra.Name, tensor.Device.Value);
            }
            tensor.Host.Write(extra.Data);
            if (tensor.Device is not null) tensor.Device.Upload(tensor.Host);
            else _binding?.BindInput(extra.Name, tensor.Host.Value);
        }
        if (_deviceHidden is not null)
        {
            _deviceHidden.Upload(_hidden);
            CudaRuntime.Synchronize(_deviceId);
        }
        else if (_binding is not null)
        {
            _binding.BindInput(_hiddenName, _hidden.Value); // on a GPU: copied to the device now, once per generation
            _binding.SynchronizeBoundInputs();
        }
    }

    public void Predict(ReadOnlySpan<float> sample, double timestep, Span<float> output, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        _sample.Write(sample);
        _timestep.Fill(timestep);
        if (_deviceSample is not null)
        {
            _deviceSample.Upload(_sample);
            _deviceTimestep!.Upload(_timestep);
            CudaRuntime.Synchronize(_deviceId);
        }
        else if (_binding is not null)
        {
            _binding.BindInput(_sampleName, _sample.Value);
            _binding.BindInput(_timestepName, _timestep.Value);
            _binding.SynchronizeBoundInputs();
        }
        _run.Terminate = false;
        using (cancellation.Register(static state => ((RunOptions)state!).Terminate = true, _run))
        {
            try
            {
                if (_binding is null)
                {
                    // The plain path on the same session: inputs by value, a new output every call.
                    using var outputs = _session.Run(_run, [_sampleName, _timestepName, _hiddenName, .. _extras.Keys],
                        [_sample.Value, _timestep.Value, _hidden.Value, .. _extras.Values.Select(e => e.Host.Value)], [_outputName]);
                    Read(outputs[0], output);
                    return;
                }
                _session.RunWithBinding(_run, _binding);
            }
            catch (OnnxRuntimeException) when (cancellation.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellation);
            }
            catch (OnnxRuntimeException e) when (SessionFactory.IsOutOfMemory(e.Message))
            {
                throw new DeviceOutOfMemoryException($"in the UNet ({Shape})", e, SessionFactory.DeviceOf(_session));
            }
        }
        if (_deviceOutput is not null) _deviceOutput.Download(_output);
        else _binding!.SynchronizeBoundOutputs();
        _output.Read(output);
    }

    private void Read(OrtValue value, Span<float> output)
    {
        var info = value.GetTensorTypeAndShape();
        if (info.ElementCount != output.Length)
            throw new InvalidOperationException($"The UNet returned {info.ElementCount} values where {output.Length} were expected ({Shape}).");
        if (info.ElementDataType == TensorElementType.Float16)
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<Float16, Half>(value.GetTensorDataAsSpan<Float16>()), output);
        else
            value.GetTensorDataAsSpan<float>().CopyTo(output);
    }

    public void Dispose()
    {
        _binding?.Dispose();
        foreach (var (host, device) in _extras.Values)
        {
            device?.Dispose();
            host.Dispose();
        }
        _deviceSample?.Dispose();
        _deviceTimestep?.Dispose();
        _deviceHidden?.Dispose();
        _deviceOutput?.Dispose();
        _sample.Dispose();
        _timestep.Dispose();
        _hidden.Dispose();
        _output.Dispose();
        _run.Dispose();
        if (_ownsSession) _session.Dispose();
    }
}
