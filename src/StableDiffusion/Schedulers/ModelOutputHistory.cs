namespace StableDiffusion.Schedulers;

/// <summary>
/// The last few per-step buffers of a multistep method (diffusers' <c>model_outputs</c> of the VP solvers, PNDM's
/// <c>ets</c>, LMS's <c>derivatives</c>), kept in reused buffers: pushing rotates the oldest buffer to the front, so
/// steps allocate nothing once sized.
/// </summary>
internal sealed class ModelOutputHistory
{
    private readonly float[][] _buffers;
    private int _newest = -1;
    private int _count;

    public ModelOutputHistory(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _buffers = new float[capacity][];
        for (int i = 0; i < capacity; i++) _buffers[i] = [];
    }

    public int Capacity => _buffers.Length;

    /// <summary>How many outputs are held (diffusers' non-None entries).</summary>
    public int Count => _count;

    /// <summary>Forgets every output (set_timesteps).</summary>
    public void Clear()
    {
        _newest = -1;
        _count = 0;
    }

    /// <summary>Makes room for a new newest output of <paramref name="length"/> elements and returns its buffer.</summary>
    public Span<float> Push(int length)
    {
        if (_buffers[0].Length != length)
        {
            if (_count > 0)
                throw new ArgumentException("The latent shape changed between steps; call SetTimesteps before a new generation.");
            // Size every slot on the first step so that later steps never allocate.
            for (int i = 0; i < _buffers.Length; i++) _buffers[i] = new float[length];
        }
        _newest = (_newest + 1) % _buffers.Length;
        _count = Math.Min(_count + 1, _buffers.Length);
        return _buffers[_newest];
    }

    /// <summary>The output <paramref name="back"/> steps ago (0 = newest; diffusers' <c>model_outputs[-1 - back]</c>).</summary>
    public ReadOnlySpan<float> this[int back]
    {
        get
        {
            if ((uint)back >= (uint)_count)
                throw new InvalidOperationException($"No model output {back} steps back; only {_count} held.");
            return _buffers[(_newest - back + _buffers.Length) % _buffers.Length];
        }
    }
}
