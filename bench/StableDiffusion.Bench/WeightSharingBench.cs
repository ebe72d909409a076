using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;

/// <summary>
/// RSS each of two fixed-shape CPU sessions (batch 1, 2) adds, per way of sharing the weights, on synthetic graphs with
/// large weights: "mm" (4 MatMuls [4096,4096], 256 MiB) and "conv" (16 Convs [640,640,3,3], 225 MiB). One process per
/// row, since freed native memory is not given back reliably. Results: bench/results/weight-sharing-cpu.md.
/// </summary>
internal static class WeightSharingBench
{
    private static readonly string[] Modes = ["default", "shared-container", "initializers", "initializers+container", "initializers+noprepack", "optimized+initializers+container"];

    public static void Run()
    {
        var folder = Directory.CreateTempSubdirectory("sd-weight-sharing-").FullName;
        try
        {
            Console.WriteLine("| graph | configuration | before the sessions MB | 1st session MB (ms) | 2nd session MB (ms) |");
            Console.WriteLine("|---|---|---|---|---|");
            foreach (var graph in new[] { "mm", "conv" })
            {
                var path = Build(Path.Combine(folder, graph), graph == "mm");
                foreach (var mode in Modes)
                {
                    var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
                    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") start.ArgumentList.Add(typeof(WeightSharingBench).Assembly.Location);
                    foreach (var a in new[] { "--weights-child", mode, "--model", path }) start.ArgumentList.Add(a);
                    using var process = Process.Start(start)!;
                    var output = process.StandardOutput.ReadToEnd().Trim();
                    process.WaitForExit();
                    Console.WriteLine($"| {graph} | {mode} | {output} |");
                }
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>One row: the RSS each session adds and its creation time.</summary>
    public static void Child(string mode, string path)
    {
        OrtEnv.Instance();
        long start = Resident();
        if (mode.StartsWith("optimized", StringComparison.Ordinal)) path = Optimize(path);
        var weights = mode.Contains("initializers", StringComparison.Ordinal) ? ReadWeights(path) : [];
        using var container = mode.Contains("container", StringComparison.Ordinal) ? new PrePackedWeightsContainer() : null;
        var sessions = new List<InferenceSession>();
        var cells = new List<string> { Signed(Resident() - start) }; // reading the weights (and optimizing once)
        for (int batch = 1; batch <= 2; batch++)
        {
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, EnableMemoryPattern = false };
            options.AddFreeDimensionOverrideByName("batch", batch);
            if (mode.Contains("noprepack", StringComparison.Ordinal)) options.AddSessionConfigEntry("session.disable_prepacking", "1");
            foreach (var (name, value) in weights) options.AddInitializer(name, value);
            long before = Resident();
            var clock = Stopwatch.StartNew();
            sessions.Add(container is null ? new InferenceSession(path, options) : new InferenceSession(path, options, container));
            cells.Add($"{Signed(Resident() - before)} ({clock.ElapsedMilliseconds})");
        }
        Console.WriteLine(string.Join(" | ", cells));
        foreach (var s in sessions) s.Dispose();
        foreach (var (_, value) in weights) value.Dispose();
    }

    private static string Signed(long bytes) => (bytes >> 20).ToString("+0;-0;0", CultureInfo.InvariantCulture);

    private static long Resident()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return MemoryBench.ReadStatus("VmRSS");
    }

    /// <summary>The graph as ONNX Runtime optimizes it without fixed shapes, saved beside the original.</summary>
    private static string Optimize(string path)
    {
        var optimized = Path.Combine(Path.GetDirectoryName(path)!, "optimized.onnx");
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimized };
        options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", "optimized.bin");
        using var session = new InferenceSession(path, options);
        return optimized;
    }

    /// <summary>Every external weight read once into pinned arrays (the library uses aligned native memory), as CPU OrtValues.</summary>
    private static List<(string, OrtValue)> ReadWeights(string path)
    {
        var graph = OnnxGraphFile.Load(path, loadExternalData: false);
        var weights = new List<(string, OrtValue)>();
        foreach (var tensor in graph.Initializers.Where(TensorData.IsExternal))
        {
            var data = ExternalDataReference.Parse(tensor);
            using var file = File.OpenHandle(data.ResolvePath(graph.BaseDirectory!, tensor.Name));
            var bytes = GC.AllocateUninitializedArray<byte>((int)data.Length!.Value, pinned: true);
            RandomAccess.Read(file, bytes, data.Offset);
            Pinned.Add(bytes);
            weights.Add((tensor.Name, OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, (TensorElementType)tensor.DataType,
                tensor.Dims.ToArray(), Marshal.UnsafeAddrOfPinnedArrayElement(bytes, 0), bytes.Length)));
        }
        return weights;
    }

    private static readonly List<byte[]> Pinned = []; // the weights' memory, alive as long as the process

    private static string Build(string folder, bool matmul)
    {
        var g = new GraphProto { Name = matmul ? "mm" : "conv" };
        var rng = new Random(1);
        float[] Values(int n)
        {
            var v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() - 0.5) * 0.02f;
            return v;
        }
        string x = "x";
        int layers = matmul ? 4 : 16, width = matmul ? 4096 : 640;
        g.Input.Add(matmul ? OnnxNodes.TensorValue("x", TensorProto.Types.DataType.Float, "batch", 8, width)
            : OnnxNodes.TensorValue("x", TensorProto.Types.DataType.Float, "batch", width, 8, 8));
        for (int i = 0; i < layers; i++)
        {
            if (matmul)
            {
                g.Initializer.Add(TensorData.FromFloats($"w{i}", Values(width * width), width, width));
                g.Node.Add(OnnxNodes.Node("MatMul", [x, $"w{i}"], [$"h{i}"], $"mm{i}"));
            }
            else
            {
                g.Initializer.Add(TensorData.FromFloats($"w{i}", Values(width * width * 9), width, width, 3, 3));
                g.Initializer.Add(TensorData.FromFloats($"b{i}", Values(width), width));
                g.Node.Add(OnnxNodes.Node("Conv", [x, $"w{i}", $"b{i}"], [$"h{i}"], $"conv{i}", "", OnnxNodes.Ints("pads", 1, 1, 1, 1)));
            }
            x = $"h{i}";
        }
        g.Output.Add(matmul ? OnnxNodes.TensorValue(x, TensorProto.Types.DataType.Float, "batch", 8, width)
            : OnnxNodes.TensorValue(x, TensorProto.Types.DataType.Float, "batch", width, 8, 8));
        var model = new ModelProto { IrVersion = 8, ProducerName = "StableDiffusion.Bench", Graph = g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        var path = Path.Combine(folder, "model.onnx");
        OnnxGraphFile.FromModel(model).Save(path, "weights.bin");
        return path;
    }
}
