namespace StableDiffusion.Schedulers;

/// <summary>
/// Elementwise numpy (1.24) math functions whose results diffusers casts or compares in float32.
/// numpy evaluates float32 <c>log</c> with its own AVX2/FMA3 kernel (a rational minimax approximation, up to 3.8 ulp
/// from the true logarithm), not with libm, so <see cref="MathF.Log(float)"/> would differ in the last bits.
/// </summary>
public static class NumpyMath
{
    // numpy's npy_simd_data.h coefficients for log(1+x) = P(x)/Q(x), as float32 literals.
    private const float P0 = 0.000000000000000000000e+00f;
    private const float P1 = 9.999999999999998702752e-01f;
    private const float P2 = 2.112677543073053063722e+00f;
    private const float P3 = 1.480000633576506585156e+00f;
    private const float P4 = 3.808837741388407920751e-01f;
    private const float P5 = 2.589979117907922693523e-02f;
    private const float Q0 = 1.000000000000000000000e+00f;
    private const float Q1 = 2.612677543073109236779e+00f;
    private const float Q2 = 2.453006071784736363091e+00f;
    private const float Q3 = 9.864942958519418960339e-01f;
    private const float Q4 = 1.546476374983906719538e-01f;
    private const float Q5 = 5.875095403124574342950e-03f;
    private const float Ln2 = 0.693147180559945309417232121458176568f;
    private const float Sqrt1Half = 0.707106781186547524400844362104849039f;

    /// <summary><c>np.log</c> on a float32 value, as numpy's AVX2/FMA3 SIMD loop computes it.</summary>
    public static float LogFloat32(float x)
    {
        if (float.IsNaN(x)) return float.NaN;
        if (x < 0) return -float.NaN;
        if (x == 0) return float.NegativeInfinity;
        if (float.IsPositiveInfinity(x)) return float.PositiveInfinity;

        // Exponent and mantissa in [0.5, 1); denormals are first scaled by 2^100.
        float exponentBias = 0;
        if (x < 1.17549435E-38f) { x *= BitConverter.Int32BitsToSingle(0x71800000); exponentBias = 100; }
        int bits = BitConverter.SingleToInt32Bits(x);
        float exponent = ((bits >>> 23) - 0x7E) - exponentBias;
        float m = BitConverter.Int32BitsToSingle((bits & 0x7FFFFF) | (126 << 23));
        if (m <= Sqrt1Half) { m += m; exponent -= 1f; }
        float y = m - 1f;

        float num = MathF.FusedMultiplyAdd(P5, y, P4);
        num = MathF.FusedMultiplyAdd(num, y, P3);
        num = MathF.FusedMultiplyAdd(num, y, P2);
        num = MathF.FusedMultiplyAdd(num, y, P1);
        num = MathF.FusedMultiplyAdd(num, y, P0);
        float den = MathF.FusedMultiplyAdd(Q5, y, Q4);
        den = MathF.FusedMultiplyAdd(den, y, Q3);
        den = MathF.FusedMultiplyAdd(den, y, Q2);
        den = MathF.FusedMultiplyAdd(den, y, Q1);
        den = MathF.FusedMultiplyAdd(den, y, Q0);
        return MathF.FusedMultiplyAdd(exponent, Ln2, num / den);
    }

    /// <summary>
    /// <c>np.log</c> on a float64 value. On the reference machine (AVX2) numpy calls libm's log, which
    /// <see cref="Math.Log(double)"/> also calls on Linux.
    /// </summary>
    public static double LogFloat64(double x) => Math.Log(x);
}
