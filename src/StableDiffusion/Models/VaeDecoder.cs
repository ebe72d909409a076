using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Models;

/// <summary>The VAE decoder: scaled latents [B,4,h,w] → image [B,3,8h,8w] in about [-1, 1].</summary>
public sealed class VaeDecoder : OnnxComponent
{
    private readonly (string Name, NodeMetadata Meta) _latent;
    private readonly (string Name, NodeMetadata Meta) _sample;

    public VaeDecoder(InferenceSession session, string path) : base(session, "VAE decoder", path)
    {
        try
        {
            _latent = Input("latent_sample", "latents", "z");
            _sample = Output("sample");
            RequireFloat(_latent);
            RequireFloat(_sample);
            Precision = PrecisionOf(session, FloatType);
        }
        catch
        {
            Dispose(); // the session must not outlive a graph we refuse
            throw;
        }
    }

    public override TensorElementType FloatType => _latent.Meta.ElementDataType;

    /// <summary>"float16" or "float32": what the decoder computes in (a float16 VAE can overflow to NaN).</summary>
    public string Precision { get; }

    /// <summary>Decodes latents already divided by the scaling factor; returns NCHW pixels and their size.</summary>
    public float[] Decode(float[] latents, LatentShape shape, out int height, out int width, CancellationToken cancellation = default)
    {
        using var input = FloatTensor(_latent.Meta, latents, [shape.Batch, shape.Channels, shape.Height, shape.Width]);
        using var outputs = Run([_latent.Name], [input], [_sample.Name], cancellation);
        var dims = outputs[0].GetTensorTypeAndShape().Shape;
        height = (int)dims[2];
        width = (int)dims[3];
        var pixels = new float[dims[0] * dims[1] * dims[2] * dims[3]];
        CopyOutput(outputs[0], pixels);
        return pixels;
    }
}
