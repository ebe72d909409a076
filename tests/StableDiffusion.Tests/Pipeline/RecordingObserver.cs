using StableDiffusion.Pipeline;

namespace StableDiffusion.Tests.Pipeline;

/// <summary>Keeps copies of every intermediate the pipeline reports.</summary>
public sealed class RecordingObserver : GenerationObserver
{
    public float[] Uncond = [];
    public float[] Cond = [];
    public float[] InitialNoise = [];
    public readonly List<float[]> UNetInputs = [];
    public readonly List<float[]> UNetOutputs = [];
    public readonly List<float[]> Guided = [];
    public readonly List<float[]> Latents = [];
    public readonly List<double> Timesteps = [];
    public float[] VaeInput = [];
    public float[] VaeOutput = [];

    public override void OnTextEmbeddings(ReadOnlySpan<float> uncond, ReadOnlySpan<float> cond)
    {
        Uncond = uncond.ToArray();
        Cond = cond.ToArray();
    }

    public override void OnInitialNoise(ReadOnlySpan<float> noise) => InitialNoise = noise.ToArray();

    public override void OnStep(StepInfo step)
    {
        Timesteps.Add(step.Timestep);
        UNetInputs.Add(step.UNetInput.ToArray());
        UNetOutputs.Add(step.UNetOutput.ToArray());
        Guided.Add(step.GuidedNoise.ToArray());
        Latents.Add(step.Latents.ToArray());
    }

    public override void OnDecoded(ReadOnlySpan<float> vaeInput, ReadOnlySpan<float> vaeOutput)
    {
        VaeInput = vaeInput.ToArray();
        VaeOutput = vaeOutput.ToArray();
    }
}
