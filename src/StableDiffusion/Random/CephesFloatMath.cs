namespace StableDiffusion.Random;

/// <summary>
/// Scalar, bit-exact re-implementation of the float32 <c>log</c> and <c>sincos</c> approximations that PyTorch's
/// AVX2 <c>normal_fill</c> uses (ATen <c>avx_mathfun.h</c>, Cephes polynomials after J. Pommier and
/// G. Garberoglio, zlib licence). torch.randn for 16 or more float elements goes through these, not through libm,
/// so reproducing its bits needs the same polynomial, the same operation order and the same fused multiply-adds
/// the compiler formed (GCC contracts <c>a*b + c</c> of the intrinsics into FMA instructions when building with FMA).
/// </summary>
internal static class CephesFloatMath
{
    // Every a*b + c below is fused as in torch's AVX2 build: with separate roundings about 1 % of the randn values
    // of a 1x4x64x64 tensor come out 1-2 ulp off the torch 1.13 references (measured on expected/rng).
    private static float Mad(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);

    private const float SqrtHalf = 0.707106781186547524f;
    private const float LogP0 = 7.0376836292E-2f;
    private const float LogP1 = -1.1514610310E-1f;
    private const float LogP2 = 1.1676998740E-1f;
    private const float LogP3 = -1.2420140846E-1f;
    private const float LogP4 = 1.4249322787E-1f;
    private const float LogP5 = -1.6668057665E-1f;
    private const float LogP6 = 2.0000714765E-1f;
    private const float LogP7 = -2.4999993993E-1f;
    private const float LogP8 = 3.3333331174E-1f;
    private const float LogQ1 = -2.12194440e-4f;
    private const float LogQ2 = 0.693359375f;

    private const float MinusDp1 = -0.78515625f;
    private const float MinusDp2 = -2.4187564849853515625e-4f;
    private const float MinusDp3 = -3.77489497744594108e-8f;
    private const float SinP0 = -1.9515295891E-4f;
    private const float SinP1 = 8.3321608736E-3f;
    private const float SinP2 = -1.6666654611E-1f;
    private const float CosP0 = 2.443315711809948E-005f;
    private const float CosP1 = -1.388731625493765E-003f;
    private const float CosP2 = 4.166664568298827E-002f;
    private const float FourOverPi = 1.27323954473516f;

    /// <summary>Natural logarithm as <c>log256_ps</c> computes it (NaN for x &lt;= 0).</summary>
    public static float Log(float x)
    {
        if (!(x > 0f))
            return float.NaN;

        x = MathF.Max(x, BitConverter.Int32BitsToSingle(0x00800000)); // no denormals
        int bits = BitConverter.SingleToInt32Bits(x);
        float e = (float)((int)((uint)bits >> 23) - 0x7f) + 1.0f;
        // Mantissa in [0.5, 1).
        x = BitConverter.Int32BitsToSingle((bits & ~0x7f800000) | BitConverter.SingleToInt32Bits(0.5f));

        if (x < SqrtHalf)
        {
            e -= 1.0f;
            x = (x - 1.0f) + x;
        }
        else
        {
            x -= 1.0f;
        }

        float z = x * x;
        float y = Mad(LogP0, x, LogP1);
        y = Mad(y, x, LogP2);
        y = Mad(y, x, LogP3);
        y = Mad(y, x, LogP4);
        y = Mad(y, x, LogP5);
        y = Mad(y, x, LogP6);
        y = Mad(y, x, LogP7);
        y = Mad(y, x, LogP8);
        y *= x;
        y = Mad(y, z, e * LogQ1);
        y = Mad(-z, 0.5f, y);
        return Mad(e, LogQ2, x + y);
    }

    /// <summary>Sine and cosine as <c>sincos256_ps</c> computes them (accurate for |x| &lt; 8192).</summary>
    public static void SinCos(float x, out float sin, out float cos)
    {
        int signSin = BitConverter.SingleToInt32Bits(x) & int.MinValue;
        x = MathF.Abs(x);

        // Octant j = (trunc(x * 4/pi) + 1) & ~1.
        int j = ((int)(x * FourOverPi) + 1) & ~1;
        float y = j;
        int swapSignSin = (j & 4) << 29;
        bool firstPolynomialForCos = (j & 2) == 0;
        int signCos = (~(j - 2) & 4) << 29;
        signSin ^= swapSignSin;

        // Extended-precision reduction x - j*pi/4 in three parts.
        x = Mad(y, MinusDp1, x);
        x = Mad(y, MinusDp2, x);
        x = Mad(y, MinusDp3, x);

        float z = x * x;
        float c = Mad(CosP0, z, CosP1);
        c = Mad(c, z, CosP2);
        c *= z;
        c = Mad(c, z, -(z * 0.5f));
        c += 1.0f;

        float s = Mad(SinP0, z, SinP1);
        s = Mad(s, z, SinP2);
        s *= z;
        s = Mad(s, x, x);

        // The vector code selects with masks and adds +0 to the chosen value; keep that for the sign of zero.
        float sinValue = firstPolynomialForCos ? 0.0f + s : c + 0.0f;
        float cosValue = firstPolynomialForCos ? c + 0.0f : 0.0f + s;
        sin = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(sinValue) ^ signSin);
        cos = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(cosValue) ^ signCos);
    }
}
