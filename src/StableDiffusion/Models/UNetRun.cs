using StableDiffusion.Schedulers;

namespace StableDiffusion.Models;

/// <summary>
/// The UNet calls of one denoising loop: shapes and text embeddings are fixed for its whole life. On fixed-shape
/// sessions it reuses one session and its buffers for every step (through IOBinding unless that is off); otherwise
/// it runs the load-time dynamic-shape session.
/// </summary>
public sealed class UNetRun : IDisposable
{
    private readonly UNet _unet;
    private readonly FixedShapeUNetSession? _bound;
    private readonly float[] _hiddenStates;
    private readonly LatentShape _shape;
    private readonly int _sequenceLength;

    internal UNetRun(UNet unet, FixedShapeUNetSession? bound, float[] hiddenStates, LatentShape shape, int sequenceLength)
    {
        _unet = unet;
        _bound = bound;
        _hiddenStates = hiddenStates;
        _shape = shape;
        _sequenceLength = sequenceLength;
    }

    /// <summary>True when the steps run on a fixed-shape session.</summary>
    public bool UsesFixedShapes => _bound is not null;

    /// <summary>True when the steps run through IOBinding.</summary>
    public bool UsesIOBinding => _bound?.UsesIOBinding ?? false;

    /// <summary>True when the CUDA provider replays a captured CUDA graph every step.</summary>
    public bool UsesCudaGraph => _bound?.UsesCudaGraph ?? false;

    /// <summary>Predicts the noise for <paramref name="sample"/> at <paramref name="timestep"/> into <paramref name="output"/>.</summary>
    public void Predict(float[] sample, double timestep, Span<float> output, CancellationToken cancellation = default)
    {
        if (_bound is not null) _bound.Predict(sample, timestep, output, cancellation);
        else _unet.Predict(sample, _shape, timestep, _hiddenStates, _sequenceLength, output, cancellation);
    }

    /// <summary>Nothing to free: the fixed-shape session stays cached for the next generation of this shape.</summary>
    public void Dispose() { }
}
