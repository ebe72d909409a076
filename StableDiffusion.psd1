@{
    RootModule           = 'StableDiffusion.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '3f0c2a57-5d8e-4b61-9f3a-7c1d2e4b9a60'
    Author               = 'StableDiffusion for PowerShell contributors'
    CompanyName          = 'StableDiffusion for PowerShell'
    Copyright            = '(c) StableDiffusion for PowerShell contributors. MIT licence.'
    Description          = 'Stable Diffusion text-to-image in PowerShell: diffusers ONNX models on ONNX Runtime (CUDA float16 or CPU), with numerical parity to Hugging Face diffusers.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('StableDiffusion.Format.ps1xml')
    CmdletsToExport      = @(
        'New-SdPipeline'
        'Invoke-SdGeneration'
        'Save-SdImage'
        'Get-SdPromptToken'
        'Get-SdScheduler'
        'Set-SdScheduler'
        'Set-SdVae'
        'Save-SdImageGrid'
        'Get-SdImageInfo'
        'Enable-SdAttentionSlicing'
        'Disable-SdAttentionSlicing'
        'Enable-SdVaeSlicing'
        'Disable-SdVaeSlicing'
        'ConvertTo-SdFloat16'
        'Invoke-SdRenderJob'
        'Add-SdLora'
        'Get-SdLora'
        'Remove-SdLora'
        'Clear-SdLora'
        'Add-SdEmbedding'
        'Get-SdEmbedding'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('StableDiffusion', 'Diffusion', 'ONNX', 'OnnxRuntime', 'AI', 'ImageGeneration', 'CUDA', 'Linux', 'Windows')
            LicenseUri   = 'https://opensource.org/licenses/MIT'
            ProjectUri   = 'https://github.com/stablediffusion-powershell/StableDiffusion'
            ReleaseNotes = 'Text to image identical to diffusers (CLIP tokenizer, torch-exact noise, 14 schedulers, guidance, VAE); grids, name templates, metadata round trip; attention/VAE slicing and memory options; float16 on CUDA with IOBinding and ConvertTo-SdFloat16; resumable render jobs.'
        }
    }
}
