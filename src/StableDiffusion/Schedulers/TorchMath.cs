namespace StableDiffusion.Schedulers;

/// <summary>
/// Elementwise float32 transcendental functions as torch 1.13's CPU kernels compute them: contiguous float tensors go
/// through ATen's vml helpers, which evaluate every element (the tail too) with SLEEF's vectorised AVX2 routines
/// (<c>Sleef_logf8_u10</c>, <c>Sleef_expf8_u10</c>, <c>Sleef_expm1f8_u10</c>; FMA double-float arithmetic), not with
/// libm. Ported from SLEEF.
/// </summary>
public static class TorchMath
{
    private const float L2Uf = 0.693145751953125f;
    private const float L2Lf = 1.428606765330187045e-06f;
    private const float RLn2f = 1.442695040888963407359924681001892137426645954152985934135449406931f;

    /// <summary><c>tensor.log()</c> element: SLEEF xlogf_u1.</summary>
    public static float Log(float d)
    {
        if (float.IsNaN(d) || d < 0) return float.NaN;
        if (d == 0) return float.NegativeInfinity;
        if (float.IsPositiveInfinity(d)) return float.PositiveInfinity;
        bool o = d < 1.17549435e-38f;
        if (o) d *= 18446744073709551616f; // 2^64
        int e = ILogb2k(d * (1.0f / 0.75f));
        float m = LdExp3(d, -e);
        if (o) e -= 64;
        var s = Mul((0.69314718246459960938f, -1.904654323148236017e-09f), e);
        var x = Div(Add2(-1f, m), Add2(1f, m));
        float x2 = x.X * x.X;
        float t = 0.3027294874e+0f;
        t = MathF.FusedMultiplyAdd(t, x2, 0.3996108174e+0f);
        t = MathF.FusedMultiplyAdd(t, x2, 0.6666694880e+0f);
        s = Add(s, (x.X * 2f, x.Y * 2f));
        s = Add(s, x2 * x.X * t);
        return s.X + s.Y;
    }

    /// <summary><c>tensor.exp()</c> element: SLEEF xexpf (u10).</summary>
    public static float Exp(float d)
    {
        if (float.IsNaN(d)) return float.NaN;
        int q = (int)MathF.Round(d * RLn2f, MidpointRounding.ToEven);
        float s = MathF.FusedMultiplyAdd(q, -L2Uf, d);
        s = MathF.FusedMultiplyAdd(q, -L2Lf, s);
        float u = 0.000198527617612853646278381f;
        u = MathF.FusedMultiplyAdd(u, s, 0.00139304355252534151077271f);
        u = MathF.FusedMultiplyAdd(u, s, 0.00833336077630519866943359f);
        u = MathF.FusedMultiplyAdd(u, s, 0.0416664853692054748535156f);
        u = MathF.FusedMultiplyAdd(u, s, 0.166666671633720397949219f);
        u = MathF.FusedMultiplyAdd(u, s, 0.5f);
        u = 1.0f + MathF.FusedMultiplyAdd(s * s, u, s);
        u = LdExp2(u, q);
        if (d < -104) u = 0;
        if (100 < d) u = float.PositiveInfinity;
        return u;
    }

    /// <summary><c>torch.expm1</c> element: SLEEF xexpm1f (1.0 ulp; UniPC's h·φ coefficients go through it).</summary>
    public static float Expm1(float a)
    {
        var d = Add2(Expk2(a), -1f);
        float x = d.X + d.Y;
        if (a > 88.72283172607421875f) x = float.PositiveInfinity;
        if (a < -16.635532333438687426013570f) x = -1f;
        if (a == 0f && float.IsNegative(a)) x = -0f;
        return float.IsNaN(a) ? float.NaN : x;
    }

    /// <summary><c>torch.lerp(start, end, weight)</c> element: start + w·(end − start) for |w| &lt; 0.5, else end − (end − start)·(1 − w).</summary>
    public static float Lerp(float start, float end, float weight) =>
        Math.Abs(weight) < 0.5f ? start + weight * (end - start) : end - (end - start) * (1f - weight);

    /// <summary>
    /// <c>torch.clamp(x, min, max)</c> element: min(max(x, min), max), the lower bound first, so that when
    /// <paramref name="max"/> &lt; <paramref name="min"/> every element becomes <paramref name="max"/> (where
    /// <see cref="Math.Clamp(float, float, float)"/> throws). A NaN <paramref name="x"/> stays NaN.
    /// </summary>
    public static float Clamp(float x, float min, float max) => Math.Min(Math.Max(x, min), max);

    /// <summary>exp(a) as a double-float (SLEEF <c>expk2f</c> for an argument with zero low part).</summary>
    private static (float X, float Y) Expk2(float a)
    {
        float u0 = (a + 0f) * RLn2f;
        int q = (int)MathF.Round(u0, MidpointRounding.ToEven);
        var s = Add2((a, 0f), q * -L2Uf);
        s = Add2(s, q * -L2Lf);
        float u = +0.1980960224e-3f;
        u = MathF.FusedMultiplyAdd(u, s.X, +0.1394256484e-2f);
        u = MathF.FusedMultiplyAdd(u, s.X, +0.8333456703e-2f);
        u = MathF.FusedMultiplyAdd(u, s.X, +0.4166637361e-1f);
        var t = Add2(Mul(s, u), +0.166666659414234244790680580464e+0f);
        t = Add2(Mul(s, t), 0.5f);
        t = Add2(s, Mul(Square(s), t));
        t = Add(1f, t);
        float tx = LdExp2(t.X, q), ty = LdExp2(t.Y, q);
        if (a < -104f) { tx = 0f; ty = 0f; }
        return (tx, ty);
    }

    private static int ILogb2k(float d) => ((BitConverter.SingleToInt32Bits(d) >>> 23) & 0xFF) - 0x7F;

    private static float LdExp3(float d, int q) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(d) + (q << 23));

    private static float Pow2i(int q) => BitConverter.Int32BitsToSingle((q + 0x7F) << 23);

    private static float LdExp2(float d, int e) => d * Pow2i(e >> 1) * Pow2i(e - (e >> 1));

    // Double-float arithmetic of SLEEF's df.h (FMA variants): a value is X + Y with |Y| ≤ ulp(X)/2. The "Add2" forms
    // are SLEEF's dfadd2 (exact for any operand order), the "Add" forms its dfadd (|first| ≥ |second| assumed).

    private static (float X, float Y) Add2(float x, float y)
    {
        float s = x + y;
        float v = s - x;
        return (s, (x - (s - v)) + (y - v));
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

    private static (float X, float Y) Add(float x, (float X, float Y) y)
    {
        float s = x + y.X;
        return (s, x - s + y.X + y.Y);
    }

    private static (float X, float Y) Add((float X, float Y) x, float y)
    {
        float s = x.X + y;
        return (s, ((x.X - s) + y) + x.Y);
    }

    private static (float X, float Y) Add((float X, float Y) x, (float X, float Y) y)
    {
        float s = x.X + y.X;
        return (s, (((x.X - s) + y.X) + x.Y) + y.Y);
    }

    private static (float X, float Y) Mul((float X, float Y) x, float y)
    {
        float s = x.X * y;
        return (s, MathF.FusedMultiplyAdd(x.Y, y, MathF.FusedMultiplyAdd(x.X, y, -s)));
    }

    private static (float X, float Y) Mul((float X, float Y) x, (float X, float Y) y)
    {
        float s = x.X * y.X;
        return (s, MathF.FusedMultiplyAdd(x.X, y.Y, MathF.FusedMultiplyAdd(x.Y, y.X, MathF.FusedMultiplyAdd(x.X, y.X, -s))));
    }

    private static (float X, float Y) Square((float X, float Y) x)
    {
        float s = x.X * x.X;
        return (s, MathF.FusedMultiplyAdd(x.X + x.X, x.Y, MathF.FusedMultiplyAdd(x.X, x.X, -s)));
    }

    private static (float X, float Y) Div((float X, float Y) n, (float X, float Y) d)
    {
        float t = 1.0f / d.X;
        float s = n.X * t;
        float u = MathF.FusedMultiplyAdd(t, n.X, -s);
        float v = MathF.FusedMultiplyAdd(-d.Y, t, MathF.FusedMultiplyAdd(-d.X, t, 1f));
        return (s, MathF.FusedMultiplyAdd(s, v, MathF.FusedMultiplyAdd(n.Y, t, u)));
    }
}
