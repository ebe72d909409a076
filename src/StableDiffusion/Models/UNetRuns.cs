using StableDiffusion.Schedulers;

namespace StableDiffusion.Models;

/// <summary>
/// The UNet runs of one denoising loop: one for the whole batch, or one per sub-batch of at most
/// <c>maxBatch</c> rows (same results, a smaller peak). Each binds its slice of the text embeddings once.
/// </summary>
public sealed class UNetRuns : IDisposable
{
    private readonly UNetRun[] _runs;
    private readonly LatentShape _shape;
    private readonly int _outputPerRow;

    private UNetRuns(UNetRun[] runs, LatentShape shape, int outputChannels)
    {
        _runs = runs;
        _shape = shape;
        _outputPerRow = outputChannels * shape.Height * shape.Width; // the sample may be wider (inpainting: 9 channels in, 4 out)
    }

    public IReadOnlyList<UNetRun> Runs => _runs;

    public static UNetRuns Start(UNet unet, float[] hiddenStates, LatentShape shape, int sequenceLength, int? maxBatch,
        IReadOnlyList<NamedTensor>? extras = null)
    {
        int max = maxBatch ?? int.MaxValue;
        extras ??= [];
        if (shape.Batch <= max) return new UNetRuns([unet.Start(hiddenStates, shape, sequenceLength, extras)], shape, unet.OutChannels);
        int hiddenPerRow = hiddenStates.Length / shape.Batch;
        var runs = new List<UNetRun>();
        try
        {
            for (int start = 0; start < shape.Batch; start += max)
            {
                int n = Math.Min(max, shape.Batch - start);
                runs.Add(unet.Start(hiddenStates.AsSpan(start * hiddenPerRow, n * hiddenPerRow).ToArray(), shape with { Batch = n }, sequenceLength,
                    extras.Select(e => e.Rows(start, n)).ToArray()));
            }
        }
        catch
        {
            foreach (var run in runs) run.Dispose();
            throw;
        }
        return new UNetRuns(runs.ToArray(), shape, unet.OutChannels);
    }

    /// <summary>One UNet evaluation of the whole batch (<paramref name="sample"/> and <paramref name="output"/> hold every row).</summary>
    public void Predict(float[] sample, double timestep, float[] output, CancellationToken cancellation = default)
    {
        if (_runs.Length == 1)
        {
            _runs[0].Predict(sample, timestep, output, cancellation);
            return;
        }
        int start = 0, outStart = 0;
        foreach (var run in _runs)
        {
            int length = run.Shape.Batch * _shape.ImageLength, outLength = run.Shape.Batch * _outputPerRow;
            // A copy: the plain path hands ONNX Runtime whole pinned arrays; small next to a UNet evaluation.
            var part = sample.AsSpan(start, length).ToArray();
            run.Predict(part, timestep, output.AsSpan(outStart, outLength), cancellation);
            start += length;
            outStart += outLength;
        }
    }

    public void Dispose()
    {
        foreach (var run in _runs) run.Dispose();
    }
}
