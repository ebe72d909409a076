namespace StableDiffusion.Random;

/// <summary>
/// Exact port of NumPy's legacy <c>np.random.RandomState(seed)</c> normal draws (<c>randn</c>): MT19937 seeded
/// with <c>init_genrand(seed)</c> as <c>RandomState</c> does for an integer seed, 53-bit doubles, and the
/// Marsaglia polar method whose second value is cached for the next draw (also across calls).
/// This is the generator of diffusers' <c>OnnxStableDiffusionPipeline</c>.
/// </summary>
public sealed class NumpyRandomState : IRandomGenerator
{
    private readonly MersenneTwister _engine;
    private double? _nextGauss;

    /// <summary>Creates the state of <c>np.random.RandomState(seed)</c>.</summary>
    /// <param name="seed">0 to 2^32 - 1, the range NumPy accepts for an integer seed.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="seed"/> is 2^32 or larger (NumPy raises ValueError).</exception>
    public NumpyRandomState(ulong seed)
    {
        if (seed > uint.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(seed), seed,
                "np.random.RandomState accepts integer seeds between 0 and 2**32 - 1; choose a seed below 4294967296.");
        Seed = seed;
        _engine = new MersenneTwister((uint)seed);
    }

    /// <inheritdoc />
    public ulong Seed { get; }

    /// <summary>
    /// <c>randn(n).astype(np.float32)</c>: the float64 draws rounded to float32, as the ONNX pipeline does with
    /// its initial latents.
    /// </summary>
    public void Randn(Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
            destination[i] = (float)NextGauss();
    }

    /// <summary><c>randn(n)</c> in float64.</summary>
    public void RandnDouble(Span<double> destination)
    {
        for (int i = 0; i < destination.Length; i++)
            destination[i] = NextGauss();
    }

    /// <summary>NumPy's <c>legacy_double</c> (genrand_res53): 27 + 26 random bits as a double in [0, 1).</summary>
    private double NextDouble()
    {
        uint a = _engine.NextUInt32() >> 5;
        uint b = _engine.NextUInt32() >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    /// <summary>NumPy's <c>legacy_gauss</c>: polar method, returns f·x2 and keeps f·x1 for the next call.</summary>
    private double NextGauss()
    {
        if (_nextGauss is double cached)
        {
            _nextGauss = null;
            return cached;
        }

        double x1, x2, r2;
        do
        {
            x1 = 2.0 * NextDouble() - 1.0;
            x2 = 2.0 * NextDouble() - 1.0;
            r2 = x1 * x1 + x2 * x2;
        }
        while (r2 >= 1.0 || r2 == 0.0);

        double f = Math.Sqrt(-2.0 * Math.Log(r2) / r2);
        _nextGauss = f * x1;
        return f * x2;
    }
}
