using StableDiffusion.Lora;

namespace StableDiffusion.Tests.Lora;

/// <summary>ΔW formulas on factors small enough to work out by hand (the expected values are worked out in the comments).</summary>
public class LoraDeltaTests
{
    private static LoraTensor T(string key, int[] shape, params float[] values) => new(key, shape, values);

    private static LoraModule Module(LoraModuleKind kind, float? alpha, params (string Role, LoraTensor Tensor)[] factors) =>
        new(LoraComponent.UNet, "m", "m", "lora_unet_m", kind, factors.ToDictionary(f => f.Role, f => f.Tensor), alpha);

    [Fact]
    public void LinearLoraIsUpTimesDownTimesAlphaOverRankTimesWeight()
    {
        // up = [1, 2]^T, down = [1, 0, -1]: up·down = [[1, 0, -1], [2, 0, -2]]; alpha/r = 1, weight 2.
        var m = Module(LoraModuleKind.Lora, 1f, ("up", T("u", [2, 1], 1, 2)), ("down", T("d", [1, 3], 1, 0, -1)));
        var (values, shape) = LoraDelta.Compute(m, 2f);
        Assert.Equal([2, 3], shape);
        Assert.Equal([2f, 0, -2, 4, 0, -4], values);
    }

    [Fact]
    public void ConvLoraFlattensTheKernel()
    {
        // down [1, 1, 1, 2] = [3, 4], up [2, 1, 1, 1] = [1, -1]; no alpha: scale 1. ΔW [2, 1, 1, 2] = [[3, 4], [-3, -4]].
        var m = Module(LoraModuleKind.Lora, null, ("up", T("u", [2, 1, 1, 1], 1, -1)), ("down", T("d", [1, 1, 1, 2], 3, 4)));
        var (values, shape) = LoraDelta.Compute(m, 1f);
        Assert.Equal([2, 1, 1, 2], shape);
        Assert.Equal([3f, 4, -3, -4], values);
    }

    [Fact]
    public void LoConMidIsATuckerCore()
    {
        // up [1, 1, 1, 1] = 2, mid [1, 1, 1, 2] = [3, 4], down [1, 2, 1, 1] = [1, -1]:
        // ΔW[0, i, 0, k] = 2 · mid[k] · down[i] → i = 0: [6, 8], i = 1: [-6, -8].
        var m = Module(LoraModuleKind.Lora, null, ("up", T("u", [1, 1, 1, 1], 2)), ("mid", T("c", [1, 1, 1, 2], 3, 4)), ("down", T("d", [1, 2, 1, 1], 1, -1)));
        var (values, shape) = LoraDelta.Compute(m, 1f);
        Assert.Equal([1, 2, 1, 2], shape);
        Assert.Equal([6f, 8, -6, -8], values);
    }

    [Fact]
    public void LoHaIsTheHadamardProductOfTwoLowRankProducts()
    {
        // w1 = [1, 2]^T·[3, 4] = [[3, 4], [6, 8]]; w2 = [1, -1]^T·[1, 0.5] = [[1, 0.5], [-1, -0.5]];
        // w1 ∘ w2 = [[3, 2], [-6, -4]]; alpha 2 / rank 1 = 2 → [[6, 4], [-12, -8]].
        var m = Module(LoraModuleKind.LoHa, 2f,
            ("w1a", T("a1", [2, 1], 1, 2)), ("w1b", T("b1", [1, 2], 3, 4)), ("w2a", T("a2", [2, 1], 1, -1)), ("w2b", T("b2", [1, 2], 1, 0.5f)));
        var (values, shape) = LoraDelta.Compute(m, 1f);
        Assert.Equal([2, 2], shape);
        Assert.Equal([6f, 4, -12, -8], values);
    }

    [Fact]
    public void LoHaWithTuckerCores()
    {
        // t1 = 2, w1a [1, 2] = [1, 3] (rank × out), w1b [1, 1] = 5: w1[o, 0] = 2 · w1a[0, o] · 5 = [10, 30];
        // t2 = 1, w2a = [1, 1], w2b = 1: w2 = [1, 1]; no alpha → [10, 30] as [2, 1, 1, 1].
        var m = Module(LoraModuleKind.LoHa, null,
            ("t1", T("t1", [1, 1, 1, 1], 2)), ("w1a", T("a1", [1, 2], 1, 3)), ("w1b", T("b1", [1, 1], 5)),
            ("t2", T("t2", [1, 1, 1, 1], 1)), ("w2a", T("a2", [1, 2], 1, 1)), ("w2b", T("b2", [1, 1], 1)));
        var (values, shape) = LoraDelta.Compute(m, 1f);
        Assert.Equal([2, 1, 1, 1], shape);
        Assert.Equal([10f, 30], values);
    }

    [Fact]
    public void LoKrIsAKroneckerProductAndIgnoresAlphaWithoutARank()
    {
        // kron([[1, 2], [3, 4]], [[10, 20]]) = [[10, 20, 20, 40], [30, 60, 40, 80]]; full factors: no rank, scale 1.
        var m = Module(LoraModuleKind.LoKr, 8f, ("w1", T("w1", [2, 2], 1, 2, 3, 4)), ("w2", T("w2", [1, 2], 10, 20)));
        var (values, shape) = LoraDelta.Compute(m, 1f);
        Assert.Equal([2, 4], shape);
        Assert.Equal([10f, 20, 20, 40, 30, 60, 40, 80], values);
    }

    [Fact]
    public void FactorizedLoKrScalesByAlphaOverTheFactorRank()
    {
        // w1 = [1, 2]^T·[3] = [[3], [6]]; kron with [[1, -1]] = [[3, -3], [6, -6]]; alpha 2 / rank 1 → [[6, -6], [12, -12]].
        var m = Module(LoraModuleKind.LoKr, 2f, ("w1a", T("a", [2, 1], 1, 2)), ("w1b", T("b", [1, 1], 3)), ("w2", T("w2", [1, 2], 1, -1)));
        var (values, shape) = LoraDelta.Compute(m, 1f);
        Assert.Equal([2, 2], shape);
        Assert.Equal([6f, -6, 12, -12], values);
    }

    [Fact]
    public void ConvLoKrKeepsTheKernelOfTheSecondFactor()
    {
        // kron(w1 [1, 1] = 2, w2 [1, 1, 1, 2] = [1, 3]) = [2, 6] as [1, 1, 1, 2].
        var m = Module(LoraModuleKind.LoKr, null, ("w1", T("w1", [1, 1], 2)), ("w2", T("w2", [1, 1, 1, 2], 1, 3)));
        var (values, shape) = LoraDelta.Compute(m, 1f);
        Assert.Equal([1, 1, 1, 2], shape);
        Assert.Equal([2f, 6], values);
    }
}
