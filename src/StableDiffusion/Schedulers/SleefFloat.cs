using System.Runtime.CompilerServices;

namespace StableDiffusion.Schedulers;

/// <summary>
/// Scalar ports of the SLEEF single-precision routines that PyTorch's CPU kernels use for <c>torch.exp</c> and
/// <c>torch.log</c> on float32 tensors (vectorised builds with FMA; also for 0-dim tensors, which go through the same
/// vectorised map). They differ from the C library's correctly rounded results by an ulp now and then, which is
/// enough to move a DPM-Solver coefficient; using the same polynomials keeps the schedulers bit-faithful.
/// </summary>
internal static class SleefFloat
{
    private const float Log2E = 1.442695040888963407359924681001892137426645954152985934135449406931f;
    private const float Ln2Upper = 0.693145751953125f;
    private const float Ln2Lower = 1.428606765330187045e-06f;

    /// <summary>SLEEF <c>xexpf</c> (1.0-ulp exp), the kernel of <c>Sleef_expf8_u10</c>.</summary>
    public static float Exp(float d)
    {
        int q = (int)MathF.Round(d * Log2E, MidpointRounding.ToEven);
        float s = MathF.FusedMultiplyAdd(q, -Ln2Upper, d);
        s = MathF.FusedMultiplyAdd(q, -Ln2Lower, s);
        float u = 0.000198527617612853646278381f;
        u = MathF.FusedMultiplyAdd(u, s, 0.00139304355252534151077271f);
        u = MathF.FusedMultiplyAdd(u, s, 0.00833336077630519866943359f);
        u = MathF.FusedMultiplyAdd(u, s, 0.0416664853692054748535156f);
        u = MathF.FusedMultiplyAdd(u, s, 0.166666671633720397949219f);
        u = MathF.FusedMultiplyAdd(u, s, 0.5f);
        u = 1.0f + MathF.FusedMultiplyAdd(s * s, u, s);
        u = Ldexp2(u, q);
        if (d < -104f) u = 0f;
        if (d > 100f) u = float.PositiveInfinity;
        return float.IsNaN(d) ? float.NaN : u;
    }

    /// <summary>SLEEF <c>xlogf_u1</c> (1.0-ulp log) with FMA, the kernel of <c>Sleef_logf8_u10</c>.</summary>
    public static float Log(float d)
    {
        float input = d;
        bool tiny = d < 1.17549435e-38f;
        if (tiny) d *= 18446744073709551616f; // 2^64
        int e = ILogb2k(d * (1.0f / 0.75f));
        float m = Ldexp3(d, -e);
        if (tiny) e -= 64;

        var s = MulDf(0.69314718246459960938f, -1.904654323148236017e-09f, e);
        var (nx, ny) = Add2(-1f, m);
        var (dx, dy) = Add2(1f, m);
        var (xx, xy) = DivDf(nx, ny, dx, dy);
        float x2 = xx * xx;
        float t = 0.3027294874e+0f;
        t = MathF.FusedMultiplyAdd(t, x2, 0.3996108174e+0f);
        t = MathF.FusedMultiplyAdd(t, x2, 0.6666694880e+0f);
        s = AddDf(s, (xx * 2f, xy * 2f));
        s = AddDf(s, x2 * xx * t);
        float r = s.X + s.Y;

        if (float.IsPositiveInfinity(input)) r = float.PositiveInfinity;
        if (input < 0f || float.IsNaN(input)) r = float.NaN;
        if (input == 0f) r = float.NegativeInfinity;
        return r;
    }

    /// <summary>SLEEF <c>xexpm1f</c> (1.0-ulp expm1), the kernel of <c>Sleef_expm1f8_u10</c>.</summary>
    public static float Expm1(float a)
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

    private static float Ldexp3(float d, int q) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(d) + (q << 23));

    private static int ILogb2k(float d) => ((BitConverter.SingleToInt32Bits(d) >> 23) & 0xff) - 0x7f;

    // Double-float arithmetic of SLEEF's df.h (FMA variants); a value is X + Y with |Y| ≤ ulp(X)/2.
    private static (float X, float Y) Add2(float x, float y)
    {
        float s = x + y, v = s - x;
        return (s, (x - (s - v)) + (y - v));
    }

    private static (float X, float Y) AddDf((float X, float Y) x, (float X, float Y) y)
    {
        float s = x.X + y.X;
        return (s, x.X - s + y.X + x.Y + y.Y);
    }

    private static (float X, float Y) AddDf((float X, float Y) x, float y)
    {
        float s = x.X + y;
        return (s, x.X - s + y + x.Y);
    }

    private static (float X, float Y) MulDf(float xx, float xy, float y)
    {
        float s = xx * y;
        return (s, MathF.FusedMultiplyAdd(xy, y, MathF.FusedMultiplyAdd(xx, y, -s)));
    }

    private static (float X, float Y) DivDf(float nx, float ny, float dx, float dy)
    {
        float t = 1.0f / dx;
        float s = nx * t;
        float u = MathF.FusedMultiplyAdd(t, nx, -s);
        float v = MathF.FusedMultiplyAdd(-dy, t, MathF.FusedMultiplyAdd(-dx, t, 1f));
        return (s, MathF.FusedMultiplyAdd(s, v, MathF.FusedMultiplyAdd(ny, t, u)));
    }
}
