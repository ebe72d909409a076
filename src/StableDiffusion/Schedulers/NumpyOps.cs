namespace StableDiffusion.Schedulers;

/// <summary>
/// float64 re-implementations of the numpy (1.24) routines diffusers uses for timestep grids and sigma
/// interpolation, following numpy's own arithmetic order so that the float32 casts afterwards are exact.
/// </summary>
public static class NumpyOps
{
    /// <summary><c>np.linspace(start, stop, num)</c> (endpoint=True) in float64: <c>i*step + start</c>, last = stop.</summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(num);
        var y = new double[num];
        int div = num - 1;
        double delta = stop - start;
        if (div > 0)
        {
            double step = delta / div;
            for (int i = 0; i < num; i++)
                y[i] = step == 0 ? i / (double)div * delta + start : i * step + start;
            y[num - 1] = stop;
        }
        else
        {
            for (int i = 0; i < num; i++) y[i] = i * delta + start;
        }
        return y;
    }

    /// <summary><c>np.arange(start, stop, step)</c> in float64: length <c>ceil((stop-start)/step)</c>, values
    /// <c>start + i*delta</c> with <c>delta = (start+step) - start</c> (numpy's fill rule).</summary>
    public static double[] Arange(double start, double stop, double step)
    {
        if (step == 0) throw new ArgumentException("arange step must not be zero.", nameof(step));
        double len = Math.Ceiling((stop - start) / step);
        int n = len > 0 ? checked((int)len) : 0;
        var y = new double[n];
        if (n == 0) return y;
        y[0] = start;
        if (n == 1) return y;
        double next = start + step;
        y[1] = next;
        double delta = next - start;
        for (int i = 2; i < n; i++) y[i] = start + i * delta;
        return y;
    }

    /// <summary><c>np.round</c>: round half to even.</summary>
    public static double Round(double x) => Math.Round(x, MidpointRounding.ToEven);

    /// <summary>
    /// <c>np.interp(x, xp, fp)</c> in float64 for increasing <paramref name="xp"/>: clamps outside the range,
    /// returns <c>fp[j]</c> on an exact knot, else <c>slope*(x - xp[j]) + fp[j]</c>.
    /// </summary>
    public static double Interp(double x, ReadOnlySpan<double> xp, ReadOnlySpan<double> fp)
    {
        int n = xp.Length;
        if (n == 0 || fp.Length != n) throw new ArgumentException("xp and fp must be non-empty and of equal length.", nameof(xp));
        if (double.IsNaN(x)) return x;
        if (x <= xp[0]) return fp[0];
        if (x >= xp[n - 1]) return fp[n - 1];
        // Largest j with xp[j] <= x.
        int lo = 0, hi = n - 1;
        while (hi - lo > 1)
        {
            int mid = (lo + hi) >> 1;
            if (xp[mid] <= x) lo = mid; else hi = mid;
        }
        int j = lo;
        if (xp[j] == x) return fp[j];
        double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
        double r = slope * (x - xp[j]) + fp[j];
        if (double.IsNaN(r))
        {
            r = slope * (x - xp[j + 1]) + fp[j + 1];
            if (double.IsNaN(r) && fp[j] == fp[j + 1]) r = fp[j];
        }
        return r;
    }

    /// <summary><c>np.interp</c> with integer knots <c>0..fp.Length-1</c> (diffusers' <c>np.arange(0, len(sigmas))</c>).</summary>
    public static double InterpIndex(double x, ReadOnlySpan<double> fp)
    {
        int n = fp.Length;
        if (double.IsNaN(x)) return x;
        if (x <= 0) return fp[0];
        if (x >= n - 1) return fp[n - 1];
        int j = (int)Math.Floor(x);
        if (j == x) return fp[j];
        double slope = (fp[j + 1] - fp[j]) / 1.0;
        double r = slope * (x - j) + fp[j];
        if (double.IsNaN(r))
        {
            r = slope * (x - (j + 1)) + fp[j + 1];
            if (double.IsNaN(r) && fp[j] == fp[j + 1]) r = fp[j];
        }
        return r;
    }
}
