namespace StableDiffusion.Schedulers;

/// <summary>
/// torch.expm1 of a float32 tensor as torch 1.13's CPU kernel computes it: SLEEF's <c>xexpm1f</c> (1.0 ulp,
/// double-float <c>expk2f</c>, FMA), ported like <see cref="TorchMath"/>'s exp and log, which lack it. UniPC's
/// h·φ coefficients go through it.
/// </summary>
internal static class SleefExpm1
{
    private const float Log2E = 1.442695040888963407359924681001892137426645954152985934135449406931f;
    private const float Ln2Upper = 0.693145751953125f;
    private const float Ln2Lower = 1.428606765330187045e-06f;

    /// <summary>SLEEF <c>xexpm1f</c> (1.0-ulp expm1), the kernel of <c>Sleef_expm1f8_u10</c>.</summary>
    public static float Compute(float a)
    {
        var (tx, ty) = Expk2(a);
        var (dx, dy) = Add2((tx, ty), -1f);
        float x = dx + dy;
        if (a > 88.72283172607421875f) x = float.PositiveInfinity;
        if (a < -16.635532333438687426013570f) x = -1f;
        if (a == 0f && float.IsNegative(a)) x = -0f;
        return float.IsNaN(a) ? float.NaN : x;
    }

    /// <summary>exp(a) as a double-float (SLEEF <c>expk2f</c> for an argument with zero low part).</summary>
    private static (float X, float Y) Expk2(float a)
    {
        float u0 = (a + 0f) * Log2E;
        int q = (int)MathF.Round(u0, MidpointRounding.ToEven);
        var s = Add2((a, 0f), q * -Ln2Upper);
        s = Add2(s, q * -Ln2Lower);
        float u = +0.1980960224e-3f;
        u = MathF.FusedMultiplyAdd(u, s.X, +0.1394256484e-2f);
        u = MathF.FusedMultiplyAdd(u, s.X, +0.8333456703e-2f);
        u = MathF.FusedMultiplyAdd(u, s.X, +0.4166637361e-1f);
        var t = Add2(MulDf(s.X, s.Y, u), +0.166666659414234244790680580464e+0f);
        t = Add2(MulDf(s, t), 0.5f);
        t = Add2(s, MulDf(Square(s), t));
        t = AddDf(1f, t);
        float tx = Ldexp2(t.X, q), ty = Ldexp2(t.Y, q);
        if (a < -104f) { tx = 0f; ty = 0f; }
        return (tx, ty);
    }

    private static (float X, float Y) Add2((float X, float Y) x, float y)
    {
        float s = x.X + y, v = s - x.X;
        return (s, (x.X - (s - v)) + (y - v) + x.Y);
    }

    private static (float X, float Y) Add2((float X, float Y) x, (float X, float Y) y)
    {
        float s = x.X + y.X, v = s - x.X;
        return (s, (x.X - (s - v)) + (y.X - v) + (x.Y + y.Y));
    }

    private static (float X, float Y) AddDf(float x, (float X, float Y) y)
    {
        float s = x + y.X;
        return (s, x - s + y.X + y.Y);
    }

    private static (float X, float Y) MulDf((float X, float Y) x, (float X, float Y) y)
    {
        float s = x.X * y.X;
        return (s, MathF.FusedMultiplyAdd(x.X, y.Y, MathF.FusedMultiplyAdd(x.Y, y.X, MathF.FusedMultiplyAdd(x.X, y.X, -s))));
    }

    private static (float X, float Y) Square((float X, float Y) x)
    {
        float s = x.X * x.X;
        return (s, MathF.FusedMultiplyAdd(x.X + x.X, x.Y, MathF.FusedMultiplyAdd(x.X, x.X, -s)));
    }

    private static float Pow2i(int q) => BitConverter.Int32BitsToSingle((q + 0x7f) << 23);

    private static float Ldexp2(float d, int e) => d * Pow2i(e >> 1) * Pow2i(e - (e >> 1));

    // Double-float arithmetic of SLEEF's df.h (FMA variants); a value is X + Y with |Y| ≤ ulp(X)/2.
    private static (float X, float Y) MulDf(float xx, float xy, float y)
    {
        float s = xx * y;
        return (s, MathF.FusedMultiplyAdd(xy, y, MathF.FusedMultiplyAdd(xx, y, -s)));
    }
}
