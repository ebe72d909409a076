using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Tests.Models;

/// <summary>
/// A graph whose weights are large against everything else a session allocates, in the UNet's two kinds: Convs
/// (reordered by the CPU's NCHWc layout transform) and MatMuls (packed by MLAS). x [batch, 448, 8, 8] goes through
/// 8 3×3 Convs, y [batch, 8, 4096] through two MatMuls; about 154 MB of float32 weights, saved as external data.
/// </summary>
public static class SyntheticBigWeights
{
    private const int Channels = 448, Features = 4096, Hidden = 3072, Convs = 8;

    /// <summary>Bytes of the weights (Conv weights and biases, MatMul weights).</summary>
    public const long WeightBytes = 4L * (Convs * (Channels * Channels * 9 + Channels) + 2 * Features * Hidden);

    /// <summary>Writes the graph to <paramref name="folder"/>/model.onnx (+ weights.bin) and returns the model path.</summary>
    public static string Save(string folder)
    {
        var g = new GraphProto { Name = "big_weights" };
        g.Input.Add(OnnxNodes.TensorValue("x", TensorProto.Types.DataType.Float, "batch", Channels, 8, 8));
        g.Input.Add(OnnxNodes.TensorValue("y", TensorProto.Types.DataType.Float, "batch", 8, Features));
        var rng = new System.Random(7);
        float[] Random(int n, float scale)
        {
            var values = new float[n];
            for (int i = 0; i < n; i++) values[i] = (float)(rng.NextDouble() - 0.5) * scale;
            return values;
        }
        string x = "x";
        for (int i = 0; i < Convs; i++)
        {
            g.Initializer.Add(TensorData.FromFloats($"conv{i}.weight", Random(Channels * Channels * 9, 0.05f), Channels, Channels, 3, 3));
            g.Initializer.Add(TensorData.FromFloats($"conv{i}.bias", Random(Channels, 0.1f), Channels));
            g.Node.Add(OnnxNodes.Node("Conv", [x, $"conv{i}.weight", $"conv{i}.bias"], [$"conv{i}"], $"conv{i}_node", "", OnnxNodes.Ints("pads", 1, 1, 1, 1)));
            x = $"conv{i}";
        }
        g.Initializer.Add(TensorData.FromFloats("fc1.weight", Random(Features * Hidden, 0.03f), Features, Hidden));
        g.Initializer.Add(TensorData.FromFloats("fc2.weight", Random(Hidden * Features, 0.03f), Hidden, Features));
        g.Node.Add(OnnxNodes.Node("MatMul", ["y", "fc1.weight"], ["fc1"], "fc1_node"));
        g.Node.Add(OnnxNodes.Node("MatMul", ["fc1", "fc2.weight"], ["fc2"], "fc2_node"));
        g.Output.Add(OnnxNodes.TensorValue(x, TensorProto.Types.DataType.Float, "batch", Channels, 8, 8));
        g.Output.Add(OnnxNodes.TensorValue("fc2", TensorProto.Types.DataType.Float, "batch", 8, Features));
        var model = new ModelProto { IrVersion = 8, ProducerName = "StableDiffusion.Tests", Graph = g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        var path = Path.Combine(folder, "model.onnx");
        OnnxGraphFile.FromModel(model).Save(path, "weights.bin");
        return path;
    }

    /// <summary>Deterministic inputs for a batch.</summary>
    public static (float[] X, long[] XShape, float[] Y, long[] YShape) Inputs(int batch)
    {
        var rng = new System.Random(batch);
        var x = new float[batch * Channels * 64];
        var y = new float[batch * 8 * Features];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        for (int i = 0; i < y.Length; i++) y[i] = (float)rng.NextDouble();
        return (x, [batch, Channels, 8, 8], y, [batch, 8, Features]);
    }
}
