namespace StableDiffusion.Random;

/// <summary>
/// Bit-exact port of <c>torch.Generator("cpu").manual_seed(seed)</c> (PyTorch 1.13 CPU) for the draws a
/// Stable Diffusion pipeline makes: <c>torch.randn</c>, <c>torch.rand</c> and <c>torch.randint</c> in float32 /
/// int64. State (the Mersenne Twister and the cached second Box–Muller value) carries over between calls exactly
/// as it does on one torch generator.
/// </summary>
public sealed class TorchGenerator : IRandomGenerator
{
    // torch switches to the block algorithm (normal_fill) for contiguous float tensors of at least 16 elements.
    private const int BlockSize = 16;

    private readonly MersenneTwister _engine;

    // torch caches the sine half of each double-precision Box–Muller pair for the next scalar normal draw.
    private double? _nextDoubleNormal;

    /// <summary>Creates the generator state of <c>torch.Generator("cpu").manual_seed(seed)</c>.</summary>
    /// <param name="seed">Any 64-bit seed; like torch, only its low 32 bits seed the Mersenne Twister.</param>
    public TorchGenerator(ulong seed)
    {
        Seed = seed;
        _engine = new MersenneTwister(unchecked((uint)seed));
    }

    /// <inheritdoc />
    public ulong Seed { get; }

    /// <summary>
    /// One <c>torch.randn(shape, generator=g)</c> call (float32, mean 0, std 1) for a tensor of
    /// <c>destination.Length</c> elements.
    /// </summary>
    public void Randn(Span<float> destination)
    {
        if (destination.Length >= BlockSize)
            NormalFill(destination);
        else
            for (int i = 0; i < destination.Length; i++)
                destination[i] = (float)NextDoubleNormal();
    }

    /// <summary>One <c>torch.rand(shape, generator=g)</c> call (float32 in [0, 1)).</summary>
    public void Rand(Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
            destination[i] = NextFloatUniform();
    }

    /// <summary>One <c>torch.randint(low, high, shape, generator=g)</c> call (int64 in [low, high)).</summary>
    /// <exception cref="ArgumentException"><paramref name="high"/> is not greater than <paramref name="low"/>.</exception>
    public void RandInt(long low, long high, Span<long> destination)
    {
        if (high <= low)
            throw new ArgumentException(
                $"randint needs low < high, got low = {low}, high = {high}.", nameof(high));

        ulong range = unchecked((ulong)(high - low));
        // torch draws 64 bits only when the range does not fit in 32 bits.
        bool wide = range >= 1UL << 32;
        for (int i = 0; i < destination.Length; i++)
        {
            ulong value = wide ? NextUInt64() : _engine.NextUInt32();
            destination[i] = unchecked((long)(value % range) + low);
        }
    }

    /// <summary>torch's <c>random64()</c>: two 32-bit draws, the first one is the high word.</summary>
    private ulong NextUInt64()
    {
        ulong high = _engine.NextUInt32();
        ulong low = _engine.NextUInt32();
        return (high << 32) | low;
    }

    /// <summary><c>uniform_real_distribution&lt;float&gt;(0, 1)</c>: 24 random bits scaled by 2^-24.</summary>
    private float NextFloatUniform() => (_engine.NextUInt32() & 0xFFFFFFu) * (1.0f / (1 << 24));

    /// <summary><c>uniform_real_distribution&lt;double&gt;(0, 1)</c>: 53 random bits of one 64-bit draw scaled by 2^-53.</summary>
    private double NextDoubleUniform() => (NextUInt64() & ((1UL << 53) - 1)) * (1.0 / (1UL << 53));

    /// <summary>
    /// <c>at::normal_distribution&lt;double&gt;</c>: Box–Muller in double precision, u1 gives the angle and u2 the
    /// radius; the sine value is cached for the next call.
    /// </summary>
    private double NextDoubleNormal()
    {
        if (_nextDoubleNormal is double cached)
        {
            _nextDoubleNormal = null;
            return cached;
        }

        double u1 = NextDoubleUniform();
        double u2 = NextDoubleUniform();
        // 1 - u2 is exact for a 53-bit uniform, so this equals newer torch's log1p(-u2) form too.
        double radius = Math.Sqrt(-2.0 * Math.Log(1.0 - u2));
        double theta = 2.0 * Math.PI * u1;
        _nextDoubleNormal = radius * Math.Sin(theta);
        return radius * Math.Cos(theta);
    }

    /// <summary>
    /// torch's <c>normal_fill</c>: fill everything with float uniforms, transform blocks of 16 in place and, when
    /// the length is not a multiple of 16, refill the last 16 positions with fresh uniforms and transform them again.
    /// </summary>
    /// <remarks>
    /// The transform is the one of torch's AVX2 kernel (<c>normal_fill_16_AVX2</c>), which is what torch runs on an
    /// AVX2 CPU and what the references were made with: float32 Cephes log/sincos with fused multiply-adds and a
    /// float32 angle. torch's portable kernel (libm <c>logf</c>/<c>cosf</c>, angle rounded from double) differs in
    /// about 40 % of the values by up to ~2e-6.
    /// </remarks>
    private void NormalFill(Span<float> data)
    {
        for (int i = 0; i < data.Length; i++)
            data[i] = NextFloatUniform();

        for (int i = 0; i + BlockSize <= data.Length; i += BlockSize)
            NormalFill16(data.Slice(i, BlockSize));

        if (data.Length % BlockSize != 0)
        {
            Span<float> tail = data[^BlockSize..];
            for (int i = 0; i < BlockSize; i++)
                tail[i] = NextFloatUniform();
            NormalFill16(tail);
        }
    }

    // The AVX2 kernel's angle factor: _mm256_set1_ps(2.0f * pi<double>), a float.
    private const float TwoPi = (float)(2.0 * Math.PI);

    /// <summary>
    /// Box–Muller on one block: u1 = 1 - data[j] (so log never sees 0), u2 = data[j + 8]. The "+ 0" reproduces the
    /// kernel's final <c>fma(n, std = 1, mean = 0)</c>, which turns -0 into +0.
    /// </summary>
    private static void NormalFill16(Span<float> block)
    {
        for (int j = 0; j < BlockSize / 2; j++)
        {
            float u1 = 1.0f - block[j];
            float u2 = block[j + 8];
            float radius = MathF.Sqrt(-2.0f * CephesFloatMath.Log(u1));
            float theta = TwoPi * u2;
            CephesFloatMath.SinCos(theta, out float sin, out float cos);
            block[j] = radius * cos + 0.0f;
            block[j + 8] = radius * sin + 0.0f;
        }
    }
}
