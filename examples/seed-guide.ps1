#requires -Version 7.4
<#
.SYNOPSIS
    The diffusers Stable Diffusion guide ("effective and efficient diffusion"), step by step in PowerShell.
.DESCRIPTION
    1. Load the model (float16 on CUDA when there is a GPU; the CPU otherwise).
    2. One image from a fixed seed: the same seed always gives the same image.
    3. Swap PNDM at 50 steps for DPM-Solver++ at 20 steps: the guide's biggest speed-up.
    4. A batch from a list of seeds, one generator per image, and a grid of it.
    5. Attention slicing, so bigger batches fit in memory.
    6. A better VAE (the guide's stabilityai/sd-vae-ft-mse).
    7. Prompt variants with one fixed seed: only the prompt changes between the images.
    Every image is saved as a PNG that records how to regenerate it.
.EXAMPLE
    ./examples/seed-guide.ps1 -ModelPath ~/models/sd15-onnx-fp16 -VaePath ~/models/sd-vae-ft-mse-onnx
.EXAMPLE
    ./examples/seed-guide.ps1    # the tiny test model in ../shared/fixtures, 64×64, in seconds
#>
[CmdletBinding()]
param(
    [string] $ModelPath = (Join-Path $PSScriptRoot '..' '..' 'shared' 'fixtures' 'tiny-sd'),
    # A VAE export to swap in (step 6); the fixture's float16-interface twin by default.
    [string] $VaePath = (Join-Path $PSScriptRoot '..' '..' 'shared' 'fixtures' 'tiny-sd-fp16io'),
    [string] $OutputDirectory = (Join-Path $PSScriptRoot '..' 'out' 'examples' 'seed-guide'),
    [ValidateSet('Auto', 'Cpu', 'Cuda')] [string] $ExecutionProvider = 'Auto',
    # Image size; 0 = 64 for the tiny fixture, 512 for a real model.
    [int] $Size = 0,
    [int] $Steps = 20
)
$ErrorActionPreference = 'Stop'
if (-not (Get-Module StableDiffusion)) { Import-Module (Join-Path $PSScriptRoot '..' 'out' 'StableDiffusion') }
if ($Size -eq 0) { $Size = if ((Split-Path $ModelPath -Leaf) -like 'tiny-sd*') { 64 } else { 512 } }
$common = @{ Width = $Size; Height = $Size }
New-Item -ItemType Directory -Force $OutputDirectory | Out-Null

# 1. Load. On a GPU, point -ModelPath at a float16 export (ConvertTo-SdFloat16 or optimum's --dtype fp16).
$sd = New-SdPipeline -Path $ModelPath -ExecutionProvider $ExecutionProvider
$sd | Format-Table | Out-String | Write-Host

$prompt = 'portrait photo of a old warrior chief'

# 2. One image, seed 0, the model's own scheduler (PNDM for SD 1.5) at its default 50 steps.
Invoke-SdGeneration -Pipeline $sd -Prompt $prompt -Seed 0 @common |
    Save-SdImage -Directory $OutputDirectory -NameTemplate '1-pndm50-{seed}' -Force -PassThru | Select-Object -ExpandProperty Name

# 3. DPM-Solver++ (DPMSolverMultistepScheduler) at 20 steps: about as good, 2.5 times fewer UNet calls.
$sd | Set-SdScheduler DPMSolverMultistep | Out-Null
Invoke-SdGeneration -Pipeline $sd -Prompt $prompt -Seed 0 -Steps $Steps @common |
    Save-SdImage -Directory $OutputDirectory -NameTemplate '2-dpm{steps}-{seed}' -Force -PassThru | Select-Object -ExpandProperty Name

# 4. A batch from a seed list: one generator per image, so any of them can be regenerated alone.
$seeds = 0..3
$batch = $seeds | ForEach-Object { [pscustomobject]@{ Prompt = $prompt; Seed = $_ } } |
    Invoke-SdGeneration -Pipeline $sd -Steps $Steps -BatchSize 4 @common
$batch | Save-SdImage -Directory $OutputDirectory -NameTemplate '3-batch-{seed}' -Force | Out-Null
$batch | Save-SdImageGrid -Path (Join-Path $OutputDirectory '4-grid.png') -Rows 1 -Force -PassThru | Select-Object -ExpandProperty Name

# 5. Attention slicing: the attention scores are computed a few heads at a time, so a batch of 8 fits where 4 did not.
$sd | Enable-SdAttentionSlicing | Out-Null
$eight = 0..7 | ForEach-Object { [pscustomobject]@{ Prompt = $prompt; Seed = $_ } } |
    Invoke-SdGeneration -Pipeline $sd -Steps $Steps -BatchSize 8 @common
$eight | Save-SdImageGrid -Path (Join-Path $OutputDirectory '5-sliced-grid.png') -Rows 2 -Force -PassThru | Select-Object -ExpandProperty Name

# 6. A better VAE decoder.
$sd | Set-SdVae $VaePath | Out-Null
Invoke-SdGeneration -Pipeline $sd -Prompt $prompt -Seed 0 -Steps $Steps @common |
    Save-SdImage -Directory $OutputDirectory -NameTemplate '6-vae-{seed}' -Force -PassThru | Select-Object -ExpandProperty Name

# 7. Prompt variants with one fixed seed: the guide's prompt engineering, each detail added in turn.
$variants = @(
    $prompt
    "$prompt, tribal panther make up, blue on red, side profile, looking away, serious eyes"
    "$prompt, tribal panther make up, blue on red, side profile, looking away, serious eyes, 50mm portrait photography, hard rim lighting photography"
)
$variants | Invoke-SdGeneration -Pipeline $sd -Seed 1 -Steps $Steps @common |
    Save-SdImageGrid -Path (Join-Path $OutputDirectory '7-variants.png') -Force -PassThru | Select-Object -ExpandProperty Name

$sd.Dispose()
