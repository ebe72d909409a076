using System.Numerics.Tensors;

namespace StableDiffusion.Lora;

/// <summary>
/// A module's weight change ΔW in torch layout ([out, in] or [out, in, kh, kw]), in float32, already scaled by
/// multiplier × alpha / rank — the formulas of PEFT's merge, A1111's Lora extension and LyCORIS:
/// LoRA up·down (conv: up [out, r, 1, 1] · down [r, in, kh, kw] flattened), LoCon with mid (Tucker),
/// LoHa (w1a·w1b) ∘ (w2a·w2b), LoKr kron(w1, w2).
/// </summary>
public static class LoraDelta
{
    /// <summary>ΔW and its torch shape.</summary>
    public static (float[] Values, int[] Shape) Compute(LoraModule module, float multiplier)
    {
        var (values, shape) = module.Kind switch
        {
            LoraModuleKind.Lora => Lora(module),
            LoraModuleKind.LoHa => LoHa(module),
            _ => LoKr(module),
        };
        // As PEFT: (B @ A) first, then × scaling, with scaling = multiplier * alpha / r formed in double.
        float scale = (float)(module.Alpha is float a && module.Rank is int r && r > 0 ? (double)multiplier * a / r : multiplier);
        TensorPrimitives.Multiply(values, scale, values);
        return (values, shape);
    }

    private static (float[], int[]) Lora(LoraModule m)
    {
        var up = m.Factors["up"];
        var down = m.Factors["down"];
        int outFeatures = up.Shape[0];
        int rank = down.Rows;
        if (up.RowLength != rank)
            throw new LoraFormatException(m.FilePath, up.Key, $"lora_up has {up.RowLength} columns but lora_down has rank {rank}.");
        if (m.Factors.TryGetValue("mid", out var mid))
        {
            // LoCon's Tucker form: ΔW[o, i, k] = Σ_n Σ_m mid[n, m, k] · up[o, n] · down[m, i].
            int inFeatures = down.RowLength;
            int kernel = mid.Values.Length / (mid.Shape[0] * mid.Shape[1]);
            var values = Cp(mid.Values, mid.Shape[0], mid.Shape[1], kernel, up.Values, outFeatures, transposedA: false, down.Values, inFeatures);
            return (values, [outFeatures, inFeatures, .. mid.Shape[2..]]);
        }
        var delta = new float[outFeatures * down.RowLength];
        MatMul(up.Values, outFeatures, rank, down.Values, down.RowLength, delta);
        return (delta, [outFeatures, .. down.Shape[1..]]);
    }

    private static (float[], int[]) LoHa(LoraModule m)
    {
        var (w1, shape1) = Factor(m, "w1a", "w1b", "t1");
        var (w2, shape2) = Factor(m, "w2a", "w2b", "t2");
        if (w1.Length != w2.Length)
            throw new LoraFormatException(m.FilePath, m.Factors["w1a"].Key, $"the two Hadamard factors have shapes [{string.Join(", ", shape1)}] and [{string.Join(", ", shape2)}].");
        TensorPrimitives.Multiply(w1, w2, w1);
        return (w1, shape1);
    }

    private static (float[], int[]) LoKr(LoraModule m)
    {
        var (w1, s1) = m.Factors.TryGetValue("w1", out var full1) ? ((float[])full1.Values.Clone(), full1.Shape) : Factor(m, "w1a", "w1b", null);
        var (w2, s2) = m.Factors.TryGetValue("w2", out var full2) ? ((float[])full2.Values.Clone(), full2.Shape) : Factor(m, "w2a", "w2b", "t2");
        if (s1.Length != 2)
            throw new LoraFormatException(m.FilePath, m.SourceName, $"lokr_w1 must be 2-D, not [{string.Join(", ", s1)}].");
        int o1 = s1[0], i1 = s1[1], o2 = s2[0], i2 = s2[1];
        int kernel = w2.Length / (o2 * i2);
        // kron(w1, w2): ΔW[a·o2 + b, c·i2 + d, k] = w1[a, c] · w2[b, d, k].
        var delta = new float[o1 * o2 * i1 * i2 * kernel];
        int rowLength = i1 * i2 * kernel;
        for (int a = 0; a < o1; a++)
            for (int b = 0; b < o2; b++)
            {
                var row = delta.AsSpan((a * o2 + b) * rowLength, rowLength);
                var w2Row = w2.AsSpan(b * i2 * kernel, i2 * kernel);
                for (int c = 0; c < i1; c++)
                    TensorPrimitives.Multiply(w2Row, w1[a * i1 + c], row.Slice(c * i2 * kernel, i2 * kernel));
            }
        return (delta, [o1 * o2, i1 * i2, .. s2[2..]]);
    }

    // A product factor a·b (b may be a conv kernel [r, in, kh, kw]), or with a Tucker core t the CP rebuild of
    // LyCORIS's make_weight_cp, where a is [r1, out] and b is [r2, in].
    private static (float[], int[]) Factor(LoraModule m, string aRole, string bRole, string? tRole)
    {
        var a = m.Factors[aRole];
        var b = m.Factors[bRole];
        if (tRole is not null && m.Factors.TryGetValue(tRole, out var t))
        {
            int outFeatures = a.RowLength, inFeatures = b.RowLength;
            int kernel = t.Values.Length / (t.Shape[0] * t.Shape[1]);
            var values = Cp(t.Values, t.Shape[0], t.Shape[1], kernel, a.Values, outFeatures, transposedA: true, b.Values, inFeatures);
            return (values, [outFeatures, inFeatures, .. t.Shape[2..]]);
        }
        int rank = b.Rows;
        if (a.RowLength != rank)
            throw new LoraFormatException(m.FilePath, a.Key, $"has {a.RowLength} columns but '{b.Key}' has {rank} rows.");
        var product = new float[a.Rows * b.RowLength];
        MatMul(a.Values, a.Rows, rank, b.Values, b.RowLength, product);
        return (product, [a.Rows, .. b.Shape[1..]]);
    }

    /// <summary>c[m, n] = Σ_p a[m, p] · b[p, n] (row-major), row by row with vector multiply-adds.</summary>
    private static void MatMul(ReadOnlySpan<float> a, int m, int k, ReadOnlySpan<float> b, int n, Span<float> c)
    {
        c[..(m * n)].Clear();
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * n, n);
            for (int p = 0; p < k; p++)
                TensorPrimitives.MultiplyAdd(b.Slice(p * n, n), a[i * k + p], row, row);
        }
    }

    /// <summary>
    /// result[o, i, k] = Σ_x Σ_y t[x, y, k] · A(o, x) · b[y, i], with A = a[o, x] or (transposed) a[x, o].
    /// </summary>
    private static float[] Cp(float[] t, int r1, int r2, int kernel, float[] a, int outFeatures, bool transposedA, float[] b, int inFeatures)
    {
        // First tb[x, i, k] = Σ_y t[x, y, k] · b[y, i], then result[o] = Σ_x A(o, x) · tb[x].
        var tb = new float[r1 * inFeatures * kernel];
        for (int x = 0; x < r1; x++)
            for (int y = 0; y < r2; y++)
                for (int i = 0; i < inFeatures; i++)
                {
                    float bv = b[y * inFeatures + i];
                    var dst = tb.AsSpan((x * inFeatures + i) * kernel, kernel);
                    TensorPrimitives.MultiplyAdd(t.AsSpan((x * r2 + y) * kernel, kernel), bv, dst, dst);
                }
        int rowLength = inFeatures * kernel;
        var result = new float[outFeatures * rowLength];
        for (int o = 0; o < outFeatures; o++)
        {
            var row = result.AsSpan(o * rowLength, rowLength);
            for (int x = 0; x < r1; x++)
                TensorPrimitives.MultiplyAdd(tb.AsSpan(x * rowLength, rowLength), transposedA ? a[x * outFeatures + o] : a[o * r1 + x], row, row);
        }
        return result;
    }
}
