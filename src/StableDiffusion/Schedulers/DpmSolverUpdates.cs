using static StableDiffusion.Schedulers.VpSigmaMath;

namespace StableDiffusion.Schedulers;

/// <summary>
/// The DPM-Solver update rules of diffusers 0.35.2 (first order = DDIM; multistep and singlestep second/third
/// order; ODE and SDE variants). The scalar coefficients are float32 like diffusers' 0-dim tensors; each tensor
/// expression is evaluated element by element in diffusers' order with the signs folded into the coefficients
/// (a − b·m equals a + (−b)·m bit for bit), so every element is rounded exactly as torch rounds it; exp and log are
/// SLEEF's, as in torch's CPU kernels.
/// </summary>
internal static class DpmSolverUpdates
{
    /// <summary>First-order step from <paramref name="sigmaS"/> to <paramref name="sigmaT"/>; <paramref name="m"/> is the converted output.</summary>
    public static void FirstOrder(DpmAlgorithm algorithm, float sigmaT, float sigmaS, ReadOnlySpan<float> m, Span<float> x,
                                  ReadOnlySpan<float> noise)
    {
        var t = Level(sigmaT);
        var s = Level(sigmaS);
        float h = t.Lambda - s.Lambda;
        float alphaT = t.Alpha, sT = t.Sigma, alphaS = s.Alpha, sS = s.Sigma;
        float cx, cm, cn = 0f;
        switch (algorithm)
        {
            case DpmAlgorithm.DpmSolverPlusPlus:
                cx = sT / sS;
                cm = -(alphaT * (TorchMath.Exp(-h) - 1f));
                break;
            case DpmAlgorithm.DpmSolver:
                cx = alphaT / alphaS;
                cm = -(sT * (TorchMath.Exp(h) - 1f));
                break;
            case DpmAlgorithm.SdeDpmSolverPlusPlus:
            {
                float e2 = TorchMath.Exp(-2f * h);
                cx = sT / sS * TorchMath.Exp(-h);
                cm = alphaT * (1f - e2);
                cn = sT * MathF.Sqrt(1f - e2);
                break;
            }
            default:
                cx = alphaT / alphaS;
                cm = -(2f * (sT * (TorchMath.Exp(h) - 1f)));
                cn = sT * MathF.Sqrt(TorchMath.Exp(2f * h) - 1f);
                break;
        }
        if (noise.IsEmpty)
            for (int k = 0; k < x.Length; k++) x[k] = cx * x[k] + cm * m[k];
        else
            for (int k = 0; k < x.Length; k++) x[k] = cx * x[k] + cm * m[k] + cn * noise[k];
    }

    /// <summary>Second-order multistep update: m0 is the newest converted output (at sigmaS0), m1 the previous one.</summary>
    public static void MultistepSecondOrder(DpmAlgorithm algorithm, bool heun, float sigmaT, float sigmaS0, float sigmaS1,
                                            ReadOnlySpan<float> m0, ReadOnlySpan<float> m1, Span<float> x, ReadOnlySpan<float> noise) =>
        SecondOrder(algorithm, heun, sigmaT, sigmaS0, sigmaS1, fromS1: false, m0, m1, x, noise);

    /// <summary>Third-order multistep update with the three newest converted outputs m0 (newest), m1, m2.</summary>
    public static void MultistepThirdOrder(DpmAlgorithm algorithm, float sigmaT, float sigmaS0, float sigmaS1, float sigmaS2,
                                           ReadOnlySpan<float> m0, ReadOnlySpan<float> m1, ReadOnlySpan<float> m2,
                                           Span<float> x, ReadOnlySpan<float> noise)
    {
        var t = Level(sigmaT);
        var s0 = Level(sigmaS0);
        var s1 = Level(sigmaS1);
        var s2 = Level(sigmaS2);
        float h = t.Lambda - s0.Lambda, h0 = s0.Lambda - s1.Lambda, h1 = s1.Lambda - s2.Lambda;
        float r0 = h0 / h, r1 = h1 / h;
        float k0 = 1f / r0, k1 = 1f / r1, q = r0 / (r0 + r1), k2 = 1f / (r0 + r1);
        var c = ThirdOrderCoefficients(algorithm, h, t, s0);

        for (int k = 0; k < x.Length; k++)
        {
            float d10 = k0 * (m0[k] - m1[k]);
            float d11 = k1 * (m1[k] - m2[k]);
            float d1 = d10 + q * (d10 - d11);
            float d2 = k2 * (d10 - d11);
            float v = c.X * x[k] + c.D0 * m0[k] + c.D1 * d1 + c.D2 * d2;
            x[k] = noise.IsEmpty ? v : v + c.Noise * noise[k];
        }
    }

    /// <summary>
    /// Second-order singlestep update from the stored sample <paramref name="x"/> at sigmaS1 (two sigmas back), with
    /// m1 the output there and m0 the output at the intermediate sigmaS0.
    /// </summary>
    public static void SinglestepSecondOrder(DpmAlgorithm algorithm, bool heun, float sigmaT, float sigmaS0, float sigmaS1,
                                             ReadOnlySpan<float> m0, ReadOnlySpan<float> m1, Span<float> x, ReadOnlySpan<float> noise) =>
        SecondOrder(algorithm, heun, sigmaT, sigmaS0, sigmaS1, fromS1: true, m0, m1, x, noise);

    /// <summary>
    /// Both second-order updates: outputs m0 at sigmaS0 and m1 at sigmaS1 (r0 = (lambda_s0 − lambda_s1)/h); the sample
    /// starts at sigmaS0 (multistep, D0 = m0) or at sigmaS1 (singlestep, D0 = m1), and h runs from there to sigmaT.
    /// </summary>
    private static void SecondOrder(DpmAlgorithm algorithm, bool heun, float sigmaT, float sigmaS0, float sigmaS1, bool fromS1,
                                    ReadOnlySpan<float> m0, ReadOnlySpan<float> m1, Span<float> x, ReadOnlySpan<float> noise)
    {
        var t = Level(sigmaT);
        var s0 = Level(sigmaS0);
        var s1 = Level(sigmaS1);
        var start = fromS1 ? s1 : s0;
        float h = t.Lambda - start.Lambda, h0 = s0.Lambda - s1.Lambda;
        float r0 = h0 / h;
        var c = SecondOrderCoefficients(algorithm, heun, h, t, start);
        SecondOrderKernel(c, 1f / r0, fromS1 ? m1 : m0, m0, m1, x, noise);
    }

    /// <summary>Third-order singlestep update from the stored sample at sigmaS2 with outputs m2 (there), m1, m0 (newest).</summary>
    public static void SinglestepThirdOrder(DpmAlgorithm algorithm, bool heun, float sigmaT, float sigmaS0, float sigmaS1, float sigmaS2,
                                            ReadOnlySpan<float> m0, ReadOnlySpan<float> m1, ReadOnlySpan<float> m2,
                                            Span<float> x, ReadOnlySpan<float> noise)
    {
        var t = Level(sigmaT);
        var s0 = Level(sigmaS0);
        var s1 = Level(sigmaS1);
        var s2 = Level(sigmaS2);
        float h = t.Lambda - s2.Lambda, h0 = s0.Lambda - s2.Lambda, h1 = s1.Lambda - s2.Lambda;
        float r0 = h0 / h, r1 = h1 / h;
        float k1 = 1f / r1, k0 = 1f / r0, rDiff = r0 - r1;
        var c = ThirdOrderCoefficients(algorithm, h, t, s2);

        for (int k = 0; k < x.Length; k++)
        {
            float d10 = k1 * (m1[k] - m2[k]);
            float d11 = k0 * (m0[k] - m2[k]);
            float v;
            if (heun)
            {
                float d1 = (r0 * d10 - r1 * d11) / rDiff;
                float d2 = 2f * (d11 - d10) / rDiff;
                v = c.X * x[k] + c.D0 * m2[k] + c.D1 * d1 + c.D2 * d2;
            }
            else
            {
                // The "midpoint" third-order singlestep update uses the one-sided derivative D1_1 only.
                v = c.X * x[k] + c.D0 * m2[k] + c.D1 * d11;
            }
            x[k] = noise.IsEmpty ? v : v + c.Noise * noise[k];
        }
    }

    private readonly record struct Coefficients(float X, float D0, float D1, float D2, float Noise);

    /// <summary>Coefficients of x = X·sample + D0·D0 + D1·D1 (+ Noise·noise) for the second-order updates from <paramref name="s"/> to <paramref name="t"/>.</summary>
    private static Coefficients SecondOrderCoefficients(DpmAlgorithm algorithm, bool heun, float h, NoiseLevel t, NoiseLevel s)
    {
        float alphaT = t.Alpha, sT = t.Sigma, alphaS = s.Alpha, sS = s.Sigma;
        switch (algorithm)
        {
            case DpmAlgorithm.DpmSolverPlusPlus:
            {
                float b = alphaT * (TorchMath.Exp(-h) - 1f);
                float d1 = heun ? alphaT * ((TorchMath.Exp(-h) - 1f) / h + 1f) : -(0.5f * b);
                return new(sT / sS, -b, d1, 0f, 0f);
            }
            case DpmAlgorithm.DpmSolver:
            {
                float b = sT * (TorchMath.Exp(h) - 1f);
                float d1 = heun ? sT * ((TorchMath.Exp(h) - 1f) / h - 1f) : 0.5f * b;
                return new(alphaT / alphaS, -b, -d1, 0f, 0f);
            }
            case DpmAlgorithm.SdeDpmSolverPlusPlus:
            {
                float e2 = TorchMath.Exp(-2f * h);
                float b = alphaT * (1f - e2);
                float d1 = heun ? alphaT * ((1f - e2) / (-2f * h) + 1f) : 0.5f * b;
                return new(sT / sS * TorchMath.Exp(-h), b, d1, 0f, sT * MathF.Sqrt(1f - e2));
            }
            default:
            {
                float b = sT * (TorchMath.Exp(h) - 1f);
                float d1 = heun ? 2f * (sT * ((TorchMath.Exp(h) - 1f) / h - 1f)) : b;
                return new(alphaT / alphaS, -(2f * b), -d1, 0f, sT * MathF.Sqrt(TorchMath.Exp(2f * h) - 1f));
            }
        }
    }

    /// <summary>x = X·sample + D0·d0 + D1·(k·(m0 − m1)) (+ Noise·noise), element by element.</summary>
    private static void SecondOrderKernel(Coefficients c, float k, ReadOnlySpan<float> d0, ReadOnlySpan<float> m0,
                                          ReadOnlySpan<float> m1, Span<float> x, ReadOnlySpan<float> noise)
    {
        if (noise.IsEmpty)
            for (int i = 0; i < x.Length; i++) x[i] = c.X * x[i] + c.D0 * d0[i] + c.D1 * (k * (m0[i] - m1[i]));
        else
            for (int i = 0; i < x.Length; i++)
                x[i] = c.X * x[i] + c.D0 * d0[i] + c.D1 * (k * (m0[i] - m1[i])) + c.Noise * noise[i];
    }

    /// <summary>Coefficients of the third-order updates from <paramref name="s"/> to <paramref name="t"/> (multistep and singlestep share them).</summary>
    private static Coefficients ThirdOrderCoefficients(DpmAlgorithm algorithm, float h, NoiseLevel t, NoiseLevel s)
    {
        float alphaT = t.Alpha, sT = t.Sigma, alphaS = s.Alpha, sS = s.Sigma;
        switch (algorithm)
        {
            case DpmAlgorithm.DpmSolverPlusPlus:
            {
                float em = TorchMath.Exp(-h) - 1f;
                return new(sT / sS, -(alphaT * em), alphaT * (em / h + 1f),
                    -(alphaT * ((TorchMath.Exp(-h) - 1f + h) / (h * h) - 0.5f)), 0f);
            }
            case DpmAlgorithm.DpmSolver:
            {
                float ep = TorchMath.Exp(h) - 1f;
                return new(alphaT / alphaS, -(sT * ep), -(sT * (ep / h - 1f)),
                    -(sT * ((TorchMath.Exp(h) - 1f - h) / (h * h) - 0.5f)), 0f);
            }
            case DpmAlgorithm.SdeDpmSolverPlusPlus:
            {
                float e2 = TorchMath.Exp(-2f * h);
                float twoH = 2f * h, minusTwoH = -2f * h;
                return new(sT / sS * TorchMath.Exp(-h), alphaT * (1f - e2), alphaT * ((1f - e2) / minusTwoH + 1f),
                    alphaT * ((1f - e2 - twoH) / (twoH * twoH) - 0.5f), sT * MathF.Sqrt(1f - e2));
            }
            default:
                throw new NotSupportedException("algorithm_type 'sde-dpmsolver' has no third-order update.");
        }
    }
}
