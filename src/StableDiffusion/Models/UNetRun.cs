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
    private readonly IReadOnlyList<NamedTensor> _extras;
    private readonly LatentShape _shape;
    private readonly int _sequenceLength;
    private bool _disposed;

    internal UNetRun(UNet unet, FixedShapeUNetSession? bound, float[] hiddenStates, IReadOnlyList<NamedTensor> extras, LatentShape shape, int sequenceLength)
    {
        _unet = unet;
        _bound = bound;
        _hiddenStates = hiddenStates;
        _extras = extras;
        _shape = shape;
        _sequenceLength = sequenceLength;
        if (bound is not null) bound.Users++; // the cache evicts no session a live run holds
    }

    /// <summary>The latent batch of this run.</summary>
    public LatentShape Shape => _shape;

    /// <summary>True when the steps run on a fixed-shape session.</summary>
    public bool UsesFixedShapes => _bound is not null;

    /// <summary>True when the steps run through IOBinding.</summary>
    public bool UsesIOBinding => _bound?.UsesIOBinding ?? false;

    /// <summary>True when the CUDA provider replays a captured CUDA graph every step.</summary>
    public bool UsesCudaGraph => _bound?.UsesCudaGraph ?? false;

    /// <summary>Predicts the noise for <paramref name="sample"/> at <paramref name="timestep"/> into <paramref name="output"/>.</summary>
    public void Predict(float[] sample, double timestep, Span<float> output, CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_bound is not null)
        {
            // Sub-batches of one size share a session: bind this run's embeddings again if another run bound its own.
            if (!ReferenceEquals(_bound.BoundHiddenStates, _hiddenStates)) _bound.SetConstantInputs(_hiddenStates, _extras);
            _bound.Predict(sample, timestep, output, cancellation);
        }
        else _unet.Predict(sample, _shape, timestep, _hiddenStates, _extras, _sequenceLength, output, cancellation);
    }

    /// <summary>Releases the run's hold on its fixed-shape session, which stays cached for the next generation of this shape.</summary>
    public void Dispose()
    {
        if (_bound is not null && !_disposed) _bound.Users--;
        _disposed = true;
    }
}
