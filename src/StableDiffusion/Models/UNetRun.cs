using StableDiffusion.Schedulers;

namespace StableDiffusion.Models;

/// <summary>
/// The UNet calls of one denoising loop: shapes and text embeddings are fixed for its whole life. It reuses one
/// session and its buffers for every step (through IOBinding unless that is off): a cached fixed-shape session, or
/// the load-time dynamic-shape session with buffers of its own for this loop.
/// </summary>
public sealed class UNetRun : IDisposable
{
    private readonly FixedShapeUNetSession _bound;
    private readonly bool _ownsSession;
    private readonly float[] _hiddenStates;
    private readonly IReadOnlyList<NamedTensor> _extras;
    private readonly LatentShape _shape;
    private bool _disposed;

    internal UNetRun(FixedShapeUNetSession bound, float[] hiddenStates, IReadOnlyList<NamedTensor> extras, LatentShape shape, bool ownsSession = false)
    {
        _bound = bound;
        _ownsSession = ownsSession;
        _hiddenStates = hiddenStates;
        _extras = extras;
        _shape = shape;
        if (!ownsSession) bound.Users++; // the cache evicts no session a live run holds
    }

    /// <summary>The latent batch of this run.</summary>
    public LatentShape Shape => _shape;

    /// <summary>True when the steps run on a fixed-shape session.</summary>
    public bool UsesFixedShapes => !_ownsSession;

    /// <summary>True when the steps run through IOBinding.</summary>
    public bool UsesIOBinding => _bound.UsesIOBinding;

    /// <summary>True when the CUDA provider replays a captured CUDA graph every step.</summary>
    public bool UsesCudaGraph => _bound.UsesCudaGraph;

    /// <summary>Predicts the noise for <paramref name="sample"/> at <paramref name="timestep"/> into <paramref name="output"/>.</summary>
    public void Predict(float[] sample, double timestep, Span<float> output, CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Sub-batches of one size share a cached session: bind this run's embeddings again if another run bound its own.
        if (!ReferenceEquals(_bound.BoundHiddenStates, _hiddenStates)) _bound.SetConstantInputs(_hiddenStates, _extras);
        _bound.Predict(sample, timestep, output, cancellation);
    }

    /// <summary>Releases the run's hold on its fixed-shape session, which stays cached for the next generation of this shape.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            if (_ownsSession) _bound.Dispose(); // its buffers; the borrowed dynamic session stays with the UNet
            else _bound.Users--;
        }
        _disposed = true;
    }
}
