namespace StableDiffusion.Schedulers;

/// <summary>
/// QUADPACK's 21-point Gauss–Kronrod rule (dqk21) and the first stage of dqags, which is what
/// <c>scipy.integrate.quad</c> evaluates for the smooth, polynomial-like integrands of the LMS coefficients:
/// one 21-point Kronrod sum, accepted when its error estimate is within <c>max(epsabs, epsrel·|result|)</c>.
/// Otherwise the interval is bisected adaptively (a simplification of dqags' extrapolation; never needed for
/// polynomials of degree ≤ 3 like the LMS integrands).
/// </summary>
/// <summary>A function to integrate; a struct implementation keeps integration allocation-free.</summary>
public interface IIntegrand
{
    double Evaluate(double x);
}

public static class GaussKronrod
{
    private static readonly double[] Xgk =
    [
        0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
        0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
        0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
        0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
        0.294392862701460198131126603103866, 0.148874338981631210884826001129720,
        0.000000000000000000000000000000000,
    ];

    private static readonly double[] Wgk =
    [
        0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
        0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
        0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
        0.123491976262065851077958109831074, 0.134709217311473325928054001771707,
        0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
        0.149445554002916905664936468389821,
    ];

    private static readonly double[] Wg =
    [
        0.066671344308688137593568809893332, 0.149451349150580593145776339657697,
        0.219086362515982043995534934228163, 0.269266719309996355091226921569469,
        0.295524224714752870173892994651338,
    ];

    private const double Epmach = 2.220446049250313e-16;
    private const double Uflow = 2.2250738585072014e-308;

    /// <summary>dqk21 on [a, b]: the Kronrod result, its error estimate and ∫|f|.</summary>
    public static (double Result, double AbsErr, double ResAbs) Qk21(Func<double, double> f, double a, double b) =>
        Qk21(new DelegateIntegrand(f), a, b);

    /// <summary>dqk21 on [a, b] for a struct integrand (no allocation).</summary>
    public static (double Result, double AbsErr, double ResAbs) Qk21<TIntegrand>(TIntegrand integrand, double a, double b)
        where TIntegrand : IIntegrand
    {
        Span<double> fv1 = stackalloc double[10];
        Span<double> fv2 = stackalloc double[10];
        double centr = 0.5 * (a + b);
        double hlgth = 0.5 * (b - a);
        double dhlgth = Math.Abs(hlgth);
        double resg = 0;
        double fc = integrand.Evaluate(centr);
        double resk = Wgk[10] * fc;
        double resabs = Math.Abs(resk);
        for (int j = 1; j <= 5; j++)
        {
            int jtw = 2 * j - 1; // Fortran jtw = 2j (1-based)
            double absc = hlgth * Xgk[jtw];
            double fval1 = integrand.Evaluate(centr - absc), fval2 = integrand.Evaluate(centr + absc);
            fv1[jtw] = fval1; fv2[jtw] = fval2;
            double fsum = fval1 + fval2;
            resg += Wg[j - 1] * fsum;
            resk += Wgk[jtw] * fsum;
            resabs += Wgk[jtw] * (Math.Abs(fval1) + Math.Abs(fval2));
        }
        for (int j = 1; j <= 5; j++)
        {
            int jtwm1 = 2 * j - 2; // Fortran 2j-1 (1-based)
            double absc = hlgth * Xgk[jtwm1];
            double fval1 = integrand.Evaluate(centr - absc), fval2 = integrand.Evaluate(centr + absc);
            fv1[jtwm1] = fval1; fv2[jtwm1] = fval2;
            double fsum = fval1 + fval2;
            resk += Wgk[jtwm1] * fsum;
            resabs += Wgk[jtwm1] * (Math.Abs(fval1) + Math.Abs(fval2));
        }
        double reskh = resk * 0.5;
        double resasc = Wgk[10] * Math.Abs(fc - reskh);
        for (int j = 0; j < 10; j++) resasc += Wgk[j] * (Math.Abs(fv1[j] - reskh) + Math.Abs(fv2[j] - reskh));
        double result = resk * hlgth;
        resabs *= dhlgth;
        resasc *= dhlgth;
        double abserr = Math.Abs((resk - resg) * hlgth);
        if (resasc != 0 && abserr != 0) abserr = resasc * Math.Min(1.0, Math.Pow(200 * abserr / resasc, 1.5));
        if (resabs > Uflow / (50 * Epmach)) abserr = Math.Max(Epmach * 50 * resabs, abserr);
        return (result, abserr, resabs);
    }

    /// <summary><c>scipy.integrate.quad(f, a, b, epsabs=1.49e-8, epsrel)</c> for well-behaved integrands.</summary>
    public static double Integrate(Func<double, double> f, double a, double b, double epsrel = 1.49e-8, double epsabs = 1.49e-8) =>
        Integrate(new DelegateIntegrand(f), a, b, epsrel, epsabs);

    /// <summary><see cref="Integrate(Func{double, double}, double, double, double, double)"/> for a struct integrand (no allocation).</summary>
    public static double Integrate<TIntegrand>(TIntegrand f, double a, double b, double epsrel = 1.49e-8, double epsabs = 1.49e-8)
        where TIntegrand : IIntegrand
    {
        var (result, abserr, resabs) = Qk21(f, a, b);
        double errbnd = Math.Max(epsabs, epsrel * Math.Abs(result));
        if ((abserr <= errbnd && abserr != resabs) || abserr == 0) return result;
        return Adaptive(f, a, b, epsrel, epsabs, depth: 0);
    }

    private readonly struct DelegateIntegrand(Func<double, double> f) : IIntegrand
    {
        public double Evaluate(double x) => f(x);
    }

    private static double Adaptive<TIntegrand>(TIntegrand f, double a, double b, double epsrel, double epsabs, int depth)
        where TIntegrand : IIntegrand
    {
        double mid = 0.5 * (a + b);
        var left = Qk21(f, a, mid);
        var right = Qk21(f, mid, b);
        double total = left.Result + right.Result;
        if (depth >= 30 || left.AbsErr + right.AbsErr <= Math.Max(epsabs, epsrel * Math.Abs(total))) return total;
        return Adaptive(f, a, mid, epsrel, epsabs * 0.5, depth + 1) + Adaptive(f, mid, b, epsrel, epsabs * 0.5, depth + 1);
    }
}
