using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Models;

/// <summary>The denoising UNet: (sample [B,4,h,w], timestep, text embeddings [B,77,D]) → noise prediction [B,4,h,w].</summary>
public sealed class UNet : OnnxComponent
{
    private readonly (string Name, NodeMetadata Meta) _sample;
    private readonly (string Name, NodeMetadata Meta) _timestep;
    private readonly (string Name, NodeMetadata Meta) _hidden;
    private readonly (string Name, NodeMetadata Meta) _output;

    public UNet(InferenceSession session, string path) : base(session, "UNet", path)
    {
        try
        {
            _sample = Input("sample");
            _timestep = Input("timestep");
            _hidden = Input("encoder_hidden_states");
            _output = Output("out_sample", "sample", "noise_pred");
            RequireFloat(_sample);
            RequireFloat(_hidden);
            if (_timestep.Meta.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16 or TensorElementType.Double
                or TensorElementType.Int64 or TensorElementType.Int32))
                throw new ModelLoadException(ModelLoadError.UnsupportedGraph, path,
                    $"The UNet's timestep input is {_timestep.Meta.ElementDataType}; a float or integer type is expected.");
        }
        catch
        {
            Dispose(); // the session must not outlive a graph we refuse
            throw;
        }
    }

    public override TensorElementType FloatType => _sample.Meta.ElementDataType;

    /// <summary>The element type of the timestep input (float32, int64 or float16 depending on the exporter).</summary>
    public TensorElementType TimestepType => _timestep.Meta.ElementDataType;

    /// <summary>
    /// Predicts the noise for <paramref name="sample"/> at <paramref name="timestep"/> into <paramref name="output"/>.
    /// <paramref name="hiddenStates"/> holds one embedding sequence per batch item.
    /// </summary>
    public void Predict(float[] sample, LatentShape shape, double timestep, float[] hiddenStates, int sequenceLength,
        Span<float> output, CancellationToken cancellation = default)
    {
        int hiddenSize = hiddenStates.Length / (shape.Batch * sequenceLength);
        using var sampleValue = FloatTensor(_sample.Meta, sample, [shape.Batch, shape.Channels, shape.Height, shape.Width]);
        using var hiddenValue = FloatTensor(_hidden.Meta, hiddenStates, [shape.Batch, sequenceLength, hiddenSize]);
        using var timestepValue = TimestepTensor(timestep, shape.Batch);
        using var outputs = Run([_sample.Name, _timestep.Name, _hidden.Name], [sampleValue, timestepValue, hiddenValue], [_output.Name], cancellation);
        CopyOutput(outputs[0], output);
    }

    private OrtValue TimestepTensor(double t, int batch)
    {
        // One value per batch item unless the graph fixes the shape ([1], or a scalar in some exports).
        var dims = _timestep.Meta.Dimensions;
        long[] shape = dims.Length == 0 ? [] : dims[0] == 1 ? [1] : [batch];
        int n = shape.Length == 0 ? 1 : (int)shape[0];
        return _timestep.Meta.ElementDataType switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(Filled((float)t, n), shape),
            TensorElementType.Double => OrtValue.CreateTensorValueFromMemory(Filled(t, n), shape),
            TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(Filled((Float16)(float)t, n), shape),
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(Filled((long)t, n), shape),
            _ => OrtValue.CreateTensorValueFromMemory(Filled((int)t, n), shape),
        };
    }

    private static T[] Filled<T>(T value, int n)
    {
        var array = new T[n];
        Array.Fill(array, value);
        return array;
    }
}
