# A nightly render job for Invoke-SdRenderJob (see README.md beside this file).
# Relative paths start at this file's folder; ~ is your home folder.
# The job is read as data, never run: only text, numbers, arrays, hashtables and $true/$false/$null.
@{
    # The model: a diffusers ONNX export (optimum-cli export onnx --model stable-diffusion-v1-5/stable-diffusion-v1-5 sd15-onnx/).
    Model           = '~/models/sd15-onnx'
    Provider        = 'Auto'          # Auto (CUDA when it loads, else the CPU), Cpu or Cuda
    Precision       = 'Auto'          # or Float16 / Float32: the run stops before rendering if the model is not that
    Scheduler       = 'DPM++ 2M Karras'   # or @{ Name = 'DPMSolverMultistep'; use_karras_sigmas = $true }
    AttentionSlicing = 'Off'          # Auto or Max on a small GPU: less memory, the same images

    # Settings every prompt gets unless it says otherwise.
    Defaults        = @{
        Steps           = 25
        GuidanceScale   = 7
        Width           = 512
        Height          = 512
        NegativePrompt  = 'blurry, low quality, jpeg artifacts'
        Seeds           = '1000-1003'     # four images per prompt; also 7, @(7, 42) or @('1-4', 100)
    }

    Prompts         = @(
        'a lighthouse on a cliff at dawn, oil painting'
        @{ Prompt = 'a red fox in fresh snow, photograph'; Seeds = @(7, 42); Steps = 30 }
    )
    # More prompts, one row each; a cell overrides the defaults, an empty cell keeps them.
    PromptFile      = 'nightly-prompts.csv'

    OutputDirectory = 'renders'
    # Names must not change between runs (no {date}): that is how a rerun finds what is done.
    NameTemplate    = '{index:0000}-{seed}-{prompt:32}'
    BatchSize       = 1
}
