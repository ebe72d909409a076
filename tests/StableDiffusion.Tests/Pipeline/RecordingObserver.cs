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

    public PromptEmbeddings? Prompt;
    public IReadOnlyList<StableDiffusion.Models.NamedTensor> ExtraUNetInputs = [];

    public override void OnPromptEncoded(PromptEmbeddings prompt, IReadOnlyList<StableDiffusion.Models.NamedTensor> unetInputs)
    {
        Prompt = prompt;
        Uncond = prompt.Uncond.ToArray();
        Cond = prompt.Cond.ToArray();
        ExtraUNetInputs = unetInputs;
    }

    public float[] StartLatents = [];
    public float[] Image = [];
    public float[] Mask = [];
    public float[] MaskedImage = [];
    public float[] VaeParameters = [];
    public float[] VaeEps = [];
    public float[] VaeSamples = [];
    public float[] ImageLatents = [];
    public float[] MaskLatents = [];
    public float[] MaskedImageLatents = [];
    public int BeginIndex;

    public override void OnLatentsPrepared(LatentsInfo info)
    {
        InitialNoise = info.Noise.ToArray();
        StartLatents = info.StartLatents.ToArray();
        Image = info.Image.ToArray();
        Mask = info.Mask.ToArray();
        MaskedImage = info.MaskedImage.ToArray();
        VaeParameters = info.VaeParameters.ToArray();
        VaeEps = info.VaeEps.ToArray();
        VaeSamples = info.VaeSamples.ToArray();
        ImageLatents = info.ImageLatents.ToArray();
        MaskLatents = info.MaskLatents.ToArray();
        MaskedImageLatents = info.MaskedImageLatents.ToArray();
        BeginIndex = info.BeginIndex;
    }

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
