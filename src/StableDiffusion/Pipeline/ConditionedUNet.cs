using StableDiffusion.Models;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Pipeline;

/// <summary>
/// The UNet bound to one conditioning for the loop: one run of all rows, or, when the negative and prompt rows differ in
/// length (A1111 without pad_cond_uncond), one run per half, as A1111's CFGDenoiser runs them in separate calls.
/// </summary>
public sealed class ConditionedUNet : IDisposable
{
    private readonly UNetRuns? _joint;
    private readonly UNetRuns? _uncond, _cond;
    private readonly float[] _halfSample = [], _halfOutput = [];

    private ConditionedUNet(UNetRuns joint) => _joint = joint;

    private ConditionedUNet(UNetRuns uncond, UNetRuns cond, int halfSample, int halfOutput)
    {
        _uncond = uncond;
        _cond = cond;
        _halfSample = new float[halfSample];
        _halfOutput = new float[halfOutput];
    }

    /// <summary>Binds <paramref name="prompt"/>'s rows; <paramref name="unetShape"/> is the UNet's sample shape for all rows.</summary>
    public static ConditionedUNet Start(UNet unet, PromptEmbeddings prompt, LatentShape unetShape, int? unetBatchSize,
        IReadOnlyList<NamedTensor>? extras)
    {
        if (!prompt.HasUnevenHalves)
            return new ConditionedUNet(UNetRuns.Start(unet, prompt.HiddenStates, unetShape, prompt.SequenceLength, unetBatchSize, extras));
        int images = prompt.Images;
        var half = unetShape with { Batch = images };
        var uncond = UNetRuns.Start(unet, prompt.Uncond.ToArray(), half, prompt.UncondSequenceLength, unetBatchSize,
            extras?.Select(e => e.Rows(0, images)).ToArray());
        try
        {
            var cond = UNetRuns.Start(unet, prompt.Cond.ToArray(), half, prompt.SequenceLength, unetBatchSize,
                extras?.Select(e => e.Rows(images, images)).ToArray());
            return new ConditionedUNet(uncond, cond, half.Length, images * unet.OutChannels * unetShape.Height * unetShape.Width);
        }
        catch
        {
            uncond.Dispose();
            throw;
        }
    }

    /// <summary>One prediction of every row ([uncond…, cond…] in <paramref name="sample"/> and <paramref name="output"/>).</summary>
    public void Predict(float[] sample, double timestep, float[] output, CancellationToken cancellation)
    {
        if (_joint is not null)
        {
            _joint.Predict(sample, timestep, output, cancellation);
            return;
        }
        PredictHalf(_uncond!, sample, 0, timestep, output, cancellation);
        PredictHalf(_cond!, sample, 1, timestep, output, cancellation);
    }

    private void PredictHalf(UNetRuns runs, float[] sample, int half, double timestep, float[] output, CancellationToken cancellation)
    {
        sample.AsSpan(half * _halfSample.Length, _halfSample.Length).CopyTo(_halfSample);
        runs.Predict(_halfSample, timestep, _halfOutput, cancellation);
        _halfOutput.CopyTo(output.AsSpan(half * _halfOutput.Length));
    }

    public void Dispose()
    {
        _joint?.Dispose();
        _uncond?.Dispose();
        _cond?.Dispose();
    }
}
