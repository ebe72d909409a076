using Microsoft.ML.OnnxRuntime;

namespace StableDiffusion.Lora;

/// <summary>
/// The fused weights of one component as ONNX Runtime tensors, given to every session of that component through
/// SessionOptions.AddInitializer (the .onnx file is never rewritten; the graph's own copy of each overridden weight
/// is not loaded). Must outlive every session created with it: ONNX Runtime reads the buffers in place.
/// </summary>
public sealed class LoraSessionOverrides : IDisposable
{
    private readonly List<(string Name, OrtValue Value)> _values;

    private LoraSessionOverrides(List<(string Name, OrtValue Value)> values, bool changesConvWeights)
    {
        _values = values;
        ChangesConvWeights = changesConvWeights;
    }

    /// <summary>The overridden initializers' names.</summary>
    public IReadOnlyList<string> Names => _values.Select(v => v.Name).ToList();

    /// <summary>
    /// Whether a Conv kernel (a 4-D weight) is overridden: ONNX Runtime 1.31's CPU layout optimizer (ORT_ENABLE_ALL)
    /// re-reads Conv weights from the graph and ignores such overrides, so these sessions are created at
    /// ORT_ENABLE_EXTENDED (see LoraSessionOverrideTests.OrtLayoutOptimizationIgnoresConvWeightOverrides).
    /// </summary>
    public bool ChangesConvWeights { get; }

    /// <summary>The overrides for <paramref name="fused"/> (their values are copied once; the list can be dropped).</summary>
    public static LoraSessionOverrides From(IEnumerable<FusedInitializer> fused)
    {
        var values = new List<(string, OrtValue)>();
        bool conv = false;
        try
        {
            foreach (var f in fused)
            {
                values.Add((f.Name, f.ToOrtValue()));
                conv |= f.Dims.Length == 4;
            }
        }
        catch
        {
            foreach (var (_, v) in values) v.Dispose();
            throw;
        }
        return new LoraSessionOverrides(values, conv);
    }

    /// <summary>Adds the overrides to a session's options (and lowers the optimization level where Conv weights need it).</summary>
    public void ApplyTo(SessionOptions options)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (ChangesConvWeights && options.GraphOptimizationLevel > GraphOptimizationLevel.ORT_ENABLE_EXTENDED)
            options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED;
        foreach (var (name, value) in _values) options.AddInitializer(name, value);
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (_, v) in _values) v.Dispose();
    }
}
