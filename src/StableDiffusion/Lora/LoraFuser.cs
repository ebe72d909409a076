using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;
using StableDiffusion.Models;

namespace StableDiffusion.Lora;

/// <summary>
/// Fuses LoRAs into a model's weights: each module is mapped through the graph (<see cref="LoraTargetIndex"/>) to the
/// initializer it changes, and W' = W + m·(alpha/r)·ΔW is computed in float32 and stored in the initializer's layout
/// and type (float16 models get float16). Several LoRAs are applied one after another, as diffusers' fuse_lora does.
/// Keys that change nothing and LoRAs of another model family are errors, as in diffusers.
/// </summary>
public static class LoraFuser
{
    /// <summary>The fused initializers for a model of <paramref name="modelFamily"/> (see the other overload).</summary>
    public static IReadOnlyList<FusedInitializer> Fuse(IReadOnlyList<LoraWeighting> loras,
        IReadOnlyDictionary<LoraComponent, LoraTargetIndex> targets, ModelFamily modelFamily) =>
        Fuse(loras, targets, modelFamily == ModelFamily.StableDiffusionXL ? LoraFamily.Sdxl : LoraFamily.SingleTextEncoder);

    /// <summary>
    /// The fused initializers. <paramref name="targets"/> holds an index for each component of the model;
    /// <paramref name="modelFamily"/> is the model's (<see cref="LoraFamily.Sdxl"/> with two text encoders).
    /// </summary>
    public static IReadOnlyList<FusedInitializer> Fuse(IReadOnlyList<LoraWeighting> loras,
        IReadOnlyDictionary<LoraComponent, LoraTargetIndex> targets, LoraFamily modelFamily)
    {
        ArgumentNullException.ThrowIfNull(loras);
        ArgumentNullException.ThrowIfNull(targets);
        var plan = new Dictionary<(LoraComponent, string), (LoraTarget Target, List<(LoraModule Module, float Weight, string File)> Changes)>();
        var order = new List<(LoraComponent, string)>();
        var unmapped = new List<string>();
        foreach (var (lora, weight) in loras)
        {
            if (!float.IsFinite(weight))
                throw new ArgumentOutOfRangeException(nameof(loras), weight, $"The weight of LoRA '{lora.FilePath}' must be a finite number.");
            RefuseOtherFamily(lora, modelFamily);
            unmapped.AddRange(lora.UnknownKeys);
            foreach (var module in lora.Modules)
            {
                var target = targets.TryGetValue(module.Component, out var index) ? index.Resolve(module) : null;
                if (target is null)
                {
                    unmapped.AddRange(module.Keys);
                    continue;
                }
                var key = (module.Component, target.InitializerName);
                if (!plan.TryGetValue(key, out var entry))
                {
                    plan[key] = entry = (target, []);
                    order.Add(key);
                }
                entry.Changes.Add((module, weight, lora.FilePath));
            }
        }
        if (unmapped.Count > 0)
        {
            const int shown = 20;
            throw new LoraMappingException(
                $"{unmapped.Count} LoRA key(s) match no weight of this model, so the LoRA does not fit it (wrong base model, or a format not supported): " +
                string.Join(", ", unmapped.Take(shown)) + (unmapped.Count > shown ? $", … ({unmapped.Count - shown} more)" : "") + ".",
                unmapped);
        }

        var result = new List<FusedInitializer>(order.Count);
        foreach (var key in order)
        {
            var (target, changes) = plan[key];
            var graph = targets[key.Item1].Graph;
            var weights = ReadFloats(graph, target);
            foreach (var (module, weight, file) in changes)
            {
                var (delta, shape) = LoraDelta.Compute(module, weight);
                CheckShape(file, module, shape, target);
                AddDelta(weights, delta, target);
            }
            result.Add(new FusedInitializer(key.Item1, target.InitializerName, target.Dims, target.ElementType,
                ToBytes(weights, target), changes.Select(c => c.Module.SourceName).ToList()));
        }
        return result;
    }

    private static void RefuseOtherFamily(LoraFile lora, LoraFamily modelFamily)
    {
        if (lora.Family == LoraFamily.Unknown || modelFamily == LoraFamily.Unknown || lora.Family == modelFamily) return;
        string Name(LoraFamily f) => f == LoraFamily.Sdxl ? "SDXL (two text encoders)" : "SD 1.x/2.x (one text encoder)";
        throw new LoraMappingException(
            $"The LoRA '{lora.FilePath}' is made for {Name(lora.Family)}, but the model is {Name(modelFamily)}; use a LoRA trained for this model's family.",
            lora.Modules.Take(5).Select(m => m.SourceName).ToList()) { OtherFamily = true };
    }

    private static float[] ReadFloats(OnnxGraphFile graph, LoraTarget target)
    {
        var tensor = graph.Initializer(target.InitializerName)!;
        var bytes = graph.GetTensorBytes(tensor).Span;
        return target.ElementType switch
        {
            TensorProto.Types.DataType.Float => MemoryMarshal.Cast<byte, float>(bytes).ToArray(),
            TensorProto.Types.DataType.Float16 => Widen(MemoryMarshal.Cast<byte, Half>(bytes)),
            _ => throw new NotSupportedException(
                $"Initializer '{target.InitializerName}' is {target.ElementType}; LoRA fusing supports float32 and float16 weights."),
        };
    }

    private static float[] Widen(ReadOnlySpan<Half> values)
    {
        var result = new float[values.Length];
        TensorPrimitives.ConvertToSingle(values, result);
        return result;
    }

    private static byte[] ToBytes(float[] weights, LoraTarget target)
    {
        if (target.ElementType == TensorProto.Types.DataType.Float) return MemoryMarshal.AsBytes(weights.AsSpan()).ToArray();
        var halves = new Half[weights.Length];
        TensorPrimitives.ConvertToHalf(weights, halves);
        return MemoryMarshal.AsBytes(halves.AsSpan()).ToArray();
    }

    private static void CheckShape(string file, LoraModule module, int[] deltaShape, LoraTarget target)
    {
        // Trailing 1s do not count: a 1x1-conv LoRA fits a Linear proj_in (SD 2.x/SDXL) and the other way round.
        static IEnumerable<long> Trim(IEnumerable<long> s)
        {
            var list = s.ToList();
            while (list.Count > 2 && list[^1] == 1) list.RemoveAt(list.Count - 1);
            return list;
        }
        if (!Trim(deltaShape.Select(d => (long)d)).SequenceEqual(Trim(target.TorchShape)))
            throw new LoraFormatException(file, module.SourceName,
                $"the LoRA changes a weight of shape [{string.Join(", ", deltaShape)}] but '{target.ModulePath}' ({target.InitializerName}) is [{string.Join(", ", target.TorchShape)}]; the LoRA is for another model.");
    }

    private static void AddDelta(float[] weights, float[] delta, LoraTarget target)
    {
        if (target.Layout == WeightLayout.Torch)
        {
            TensorPrimitives.Add(weights, delta, weights);
            return;
        }
        // MatMul stores W^T [in, out]: row i of the initializer is column i of the torch weight.
        int inFeatures = (int)target.Dims[0], outFeatures = (int)target.Dims[1];
        for (int i = 0; i < inFeatures; i++)
        {
            var row = weights.AsSpan(i * outFeatures, outFeatures);
            for (int o = 0; o < outFeatures; o++) row[o] += delta[o * inFeatures + i];
        }
    }
}
