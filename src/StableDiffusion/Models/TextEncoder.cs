using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace StableDiffusion.Models;

/// <summary>The CLIP text encoder: token ids [B, 77] → last_hidden_state [B, 77, D].</summary>
public sealed class TextEncoder : OnnxComponent
{
    private readonly (string Name, NodeMetadata Meta) _ids;
    private readonly (string Name, NodeMetadata Meta) _hidden;

    public TextEncoder(InferenceSession session, string path) : base(session, "text encoder", path)
    {
        try
        {
            _ids = Input("input_ids");
            if (_ids.Meta.ElementDataType is not (TensorElementType.Int32 or TensorElementType.Int64))
                throw new ModelLoadException(ModelLoadError.UnsupportedGraph, path,
                    $"The text encoder's input_ids are {_ids.Meta.ElementDataType}; int32 or int64 is expected.");
            _hidden = Output("last_hidden_state");
            RequireFloat(_hidden);
            var dims = _hidden.Meta.Dimensions;
            HiddenSize = dims.Length == 3 && dims[2] > 0 ? dims[2] : 0;
        }
        catch
        {
            Dispose(); // the session must not outlive a graph we refuse
            throw;
        }
    }

    /// <summary>Width of an embedding (768 for SD 1.x, 1024 for SD 2.x), 0 until the first call when the graph leaves it free.</summary>
    public int HiddenSize { get; private set; }

    public override TensorElementType FloatType => _hidden.Meta.ElementDataType;

    /// <summary>Encodes <paramref name="batch"/> sequences of <paramref name="sequenceLength"/> ids.</summary>
    public float[] Encode(ReadOnlySpan<int> ids, int batch, int sequenceLength, CancellationToken cancellation = default)
    {
        if (ids.Length != batch * sequenceLength) throw new ArgumentException("ids.Length must be batch × sequenceLength.", nameof(ids));
        long[] shape = [batch, sequenceLength];
        using var input = _ids.Meta.ElementDataType == TensorElementType.Int32
            ? OrtValue.CreateTensorValueFromMemory(ids.ToArray(), shape)
            : OrtValue.CreateTensorValueFromMemory(ToInt64(ids), shape);
        using var outputs = Run([_ids.Name], [input], [_hidden.Name], cancellation);
        var info = outputs[0].GetTensorTypeAndShape();
        HiddenSize = (int)info.Shape[^1];
        var result = new float[info.ElementCount];
        CopyOutput(outputs[0], result);
        return result;
    }

    private static long[] ToInt64(ReadOnlySpan<int> ids)
    {
        var wide = new long[ids.Length];
        for (int i = 0; i < ids.Length; i++) wide[i] = ids[i];
        return wide;
    }
}
