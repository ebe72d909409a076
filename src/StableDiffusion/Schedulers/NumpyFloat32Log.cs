namespace StableDiffusion.Schedulers;

/// <summary>
/// numpy 1.24's SIMD float32 <c>np.log</c> (AVX2-FMA3 / AVX512F kernel of loops_exponent_log): mantissa in
/// [sqrt(1/2), sqrt(2)), a rational 5/5 polynomial in m − 1 evaluated with FMA, plus exponent·ln 2. It is within a few
/// ulp of the true log and differs from the C library now and then, which DEIS's float32 coefficients see.
/// </summary>
internal static class NumpyFloat32Log
{
    public static float Log(float value)
    {
        if (float.IsNaN(value)) return float.NaN;
        if (value < 0f) return float.NaN;
        if (value == 0f) return float.NegativeInfinity;
        if (float.IsPositiveInfinity(value)) return float.PositiveInfinity;

        float x = value;
        float exponentBias = 0x7E;
        if (x < 1.17549435e-38f) { x *= BitConverter.Int32BitsToSingle(0x71800000); exponentBias += 100f; } // denormals: ×2^100
        int bits = BitConverter.SingleToInt32Bits(x);
        float exponent = (bits >> 23) - exponentBias;
        float m = BitConverter.Int32BitsToSingle((bits & 0x7fffff) | (126 << 23)); // [0.5, 1)
        if (m <= 0.707106781186547524400844362104849039f)
        {
            m += m;
            exponent -= 1f;
        }
        m -= 1f;
        float num = MathF.FusedMultiplyAdd(2.589979117907922693523e-02f, m, 3.808837741388407920751e-01f);
        num = MathF.FusedMultiplyAdd(num, m, 1.480000633576506585156e+00f);
        num = MathF.FusedMultiplyAdd(num, m, 2.112677543073053063722e+00f);
        num = MathF.FusedMultiplyAdd(num, m, 9.999999999999998702752e-01f);
        num = MathF.FusedMultiplyAdd(num, m, 0f);
        float den = MathF.FusedMultiplyAdd(5.875095403124574342950e-03f, m, 1.546476374983906719538e-01f);
        den = MathF.FusedMultiplyAdd(den, m, 9.864942958519418960339e-01f);
        den = MathF.FusedMultiplyAdd(den, m, 2.453006071784736363091e+00f);
        den = MathF.FusedMultiplyAdd(den, m, 2.612677543073109236779e+00f);
        den = MathF.FusedMultiplyAdd(den, m, 1f);
        return MathF.FusedMultiplyAdd(exponent, 0.693147180559945309417232121458176568f, num / den);
    }
}
