namespace StableDiffusion.Schedulers;

/// <summary>
/// Scalar arithmetic of the variance-preserving (VP) solvers in sigma space, done the way diffusers does it:
/// every quantity is a 0-dim float32 torch tensor, so every operation rounds to float32.
/// Shared by DPM-Solver (multistep, singlestep), DEIS and UniPC.
/// </summary>
internal static class VpSigmaMath
{
    /// <summary>diffusers' <c>_sigma_to_alpha_sigma_t</c>: alpha = 1/sqrt(sigma²+1), sigma_t = sigma·alpha (float32).</summary>
    public static (float Alpha, float Sigma) AlphaSigma(float sigma)
    {
        float alpha = 1f / MathF.Sqrt(sigma * sigma + 1f);
        return (alpha, sigma * alpha);
    }

    /// <summary>Half log-SNR: log(alpha) − log(sigma) in float32 with torch's (SLEEF) log; +∞ at sigma = 0, as torch gives.</summary>
    public static float Lambda(float alpha, float sigma) => TorchMath.Log(alpha) - TorchMath.Log(sigma);

    /// <summary>alpha_t, sigma_t (<see cref="AlphaSigma"/>) and lambda_t (<see cref="Lambda"/>) of the noise level <paramref name="sigma"/>.</summary>
    public static NoiseLevel Level(float sigma)
    {
        var (alpha, sigmaT) = AlphaSigma(sigma);
        return new NoiseLevel(alpha, sigmaT, Lambda(alpha, sigmaT));
    }

    /// <summary>One noise level of a VP solver step: alpha_t, sigma_t and the half log-SNR lambda_t (float32).</summary>
    public readonly record struct NoiseLevel(float Alpha, float Sigma, float Lambda);

    /// <summary>
    /// Solves the small dense system <paramref name="a"/>·x = <paramref name="b"/> (n ≤ 3, row-major, overwritten)
    /// in float32 like LAPACK's sgesv: LU with partial pivoting (first maximum wins), multipliers scaled by the
    /// reciprocal of the pivot. The result replaces <paramref name="b"/>.
    /// </summary>
    public static void SolveInPlace(Span<float> a, Span<float> b, int n)
    {
        Span<int> pivots = stackalloc int[3];
        for (int k = 0; k < n; k++)
        {
            int p = k;
            float best = MathF.Abs(a[k * n + k]);
            for (int i = k + 1; i < n; i++)
            {
                float v = MathF.Abs(a[i * n + k]);
                if (v > best) { best = v; p = i; }
            }
            pivots[k] = p;
            if (p != k)
                for (int j = 0; j < n; j++)
                    (a[k * n + j], a[p * n + j]) = (a[p * n + j], a[k * n + j]);
            float pivot = a[k * n + k];
            if (pivot == 0f)
                throw new InvalidOperationException("The solver's coefficient matrix is singular (repeated noise levels in the schedule).");
            float inverse = 1f / pivot;
            for (int i = k + 1; i < n; i++)
            {
                float l = a[i * n + k] * inverse;
                a[i * n + k] = l;
                for (int j = k + 1; j < n; j++)
                    a[i * n + j] -= l * a[k * n + j];
            }
        }
        for (int k = 0; k < n; k++)
            if (pivots[k] != k)
                (b[k], b[pivots[k]]) = (b[pivots[k]], b[k]);
        for (int i = 1; i < n; i++)
            for (int j = 0; j < i; j++)
                b[i] -= a[i * n + j] * b[j];
        for (int i = n - 1; i >= 0; i--)
        {
            for (int j = i + 1; j < n; j++)
                b[i] -= a[i * n + j] * b[j];
            b[i] /= a[i * n + i];
        }
    }
}
