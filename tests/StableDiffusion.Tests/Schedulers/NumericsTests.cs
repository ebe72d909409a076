using StableDiffusion.Schedulers;

namespace StableDiffusion.Tests.Schedulers;

public class NumericsTests
{
    [Fact]
    public void GaussKronrodIsExactForCubics()
    {
        // ∫_{-1.5}^{2} (x³ − 2x + 0.5) dx = [x⁴/4 − x² + x/2] = (4 − 4 + 1) − (1.265625 − 2.25 − 0.75) = 2.734375
        double result = GaussKronrod.Integrate(x => x * x * x - 2 * x + 0.5, -1.5, 2.0, epsrel: 1e-4);
        Assert.Equal(2.734375, result, 1e-13);
    }

    [Fact]
    public void GaussKronrodAdaptsForNonPolynomials()
    {
        double result = GaussKronrod.Integrate(Math.Sqrt, 0, 1, epsrel: 1e-10);
        Assert.Equal(2.0 / 3.0, result, 1e-9);
    }

    [Fact]
    public void BetaPpfInvertsTheIncompleteBeta()
    {
        Assert.Equal(0.5, BetaDistribution.Ppf(0.5, 0.6, 0.6), 1e-14);
        foreach (double p in new[] { 0.01, 0.2, 0.7, 0.99 })
        {
            double x = BetaDistribution.Ppf(p, 0.6, 0.6);
            Assert.Equal(p, BetaDistribution.RegularizedIncompleteBeta(x, 0.6, 0.6), 1e-12);
            Assert.Equal(1 - x, BetaDistribution.Ppf(1 - p, 0.6, 0.6), 1e-12);
        }
    }

    [Fact]
    public void TorchSleefLogAndExpStayWithinOneUlpOfCorrectlyRounded()
    {
        var rng = new System.Random(1);
        for (int i = 0; i < 10000; i++)
        {
            float x = (float)Math.Exp(rng.NextDouble() * 20 - 10);
            Assert.True(Ulps(TorchMath.Log(x), (float)Math.Log(x)) <= 1, $"log({x:R})");
            float y = (float)(rng.NextDouble() * 40 - 20);
            Assert.True(Ulps(TorchMath.Exp(y), (float)Math.Exp(y)) <= 1, $"exp({y:R})");
            Assert.True(Ulps(NumpyMath.LogFloat32(x), (float)Math.Log(x)) <= 4, $"np.log({x:R})");
        }
    }

    [Fact]
    public void TorchSleefExpm1StaysWithinOneUlpOfCorrectlyRounded()
    {
        // exp(x) − 1 in float64 is accurate to far below a float32 ulp of the result for |x| ≥ 1e-4.
        var rng = new System.Random(2);
        for (int i = 0; i < 10000; i++)
        {
            float x = (float)(Math.Exp(rng.NextDouble() * 12.2 - 9.2) * (rng.Next(2) == 0 ? -1 : 1));
            Assert.True(Ulps(TorchMath.Expm1(x), (float)(Math.Exp(x) - 1)) <= 1, $"expm1({x:R})");
        }
        Assert.Equal(0f, TorchMath.Expm1(0f));
        Assert.True(float.IsNegative(TorchMath.Expm1(-0f)));
        Assert.Equal(-1f, TorchMath.Expm1(-20f));
        Assert.Equal(float.PositiveInfinity, TorchMath.Expm1(89f));
    }

    private static int Ulps(float a, float b) => Math.Abs(BitConverter.SingleToInt32Bits(a) - BitConverter.SingleToInt32Bits(b));
}
