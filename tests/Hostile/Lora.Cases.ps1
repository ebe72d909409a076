# Hostile cases for LoRA (issue 14): Add-SdLora and New-SdPipeline -LoraPath. Each hashtable is one case for
# tests/Hostile.Tests.ps1. Every one fails before the shared pipeline's sessions are touched.

# Writes a small F32 .safetensors file: $Tensors maps a key to @(shape, values).
function global:New-SdHostileLora([string] $Path, [System.Collections.IDictionary] $Tensors) {
    $header = [ordered]@{}
    $data = [System.IO.MemoryStream]::new()
    foreach ($key in $Tensors.Keys) {
        $shape, $values = $Tensors[$key]
        $start = $data.Length
        foreach ($v in $values) { $b = [BitConverter]::GetBytes([single]$v); $data.Write($b, 0, 4) }
        $header[$key] = [ordered]@{ dtype = 'F32'; shape = @($shape); data_offsets = @($start, $data.Length) }
    }
    $json = [System.Text.Encoding]::UTF8.GetBytes(($header | ConvertTo-Json -Depth 4 -Compress))
    $bytes = [BitConverter]::GetBytes([uint64]$json.Length) + $json + $data.ToArray()
    [System.IO.File]::WriteAllBytes($Path, $bytes)
    $Path
}

@{
    Name     = 'LoRA whose keys match no weight of the model'
    ErrorId  = 'LoraKeysUnmapped*'
    Category = 'InvalidData'
    Setup    = { param($ctx) New-SdHostileLora (Join-Path $ctx.Inputs 'unmapped.safetensors') @{
        'lora_unet_no_such_block_proj.lora_down.weight' = @(@(1, 32), (,0.0 * 32))
        'lora_unet_no_such_block_proj.lora_up.weight' = @(@(32, 1), (,0.0 * 32)) } | Out-Null }
    Script   = { param($ctx) Add-SdLora -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'unmapped.safetensors') -ErrorAction Stop }
    Target   = { param($target, $ctx) "$target" -like '*unmapped.safetensors' }
}
@{
    Name     = 'SDXL LoRA (lora_te1_ keys) on an SD 1.x model'
    ErrorId  = 'LoraWrongFamily*'
    Category = 'InvalidArgument'
    Setup    = { param($ctx) New-SdHostileLora (Join-Path $ctx.Inputs 'sdxl.safetensors') @{
        'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight' = @(@(1, 32), (,0.0 * 32))
        'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight' = @(@(64, 1), (,0.0 * 64)) } | Out-Null }
    Script   = { param($ctx) Add-SdLora -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'sdxl.safetensors') -ErrorAction Stop }
    Target   = { param($target, $ctx) "$target" -like '*sdxl.safetensors' }
}
@{
    Name     = 'LoRA with a NaN factor'
    ErrorId  = 'LoraNonFiniteWeights*'
    Category = 'InvalidData'
    Setup    = { param($ctx) New-SdHostileLora (Join-Path $ctx.Inputs 'nan.safetensors') @{
        'lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight' = @(@(1, 32), (@([single]::NaN) + (,0.0 * 31)))
        'lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight' = @(@(64, 1), (,0.0 * 64)) } | Out-Null }
    Script   = { param($ctx) Add-SdLora -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'nan.safetensors') -ErrorAction Stop }
    Target   = { param($target, $ctx) "$target" -like '*nan.safetensors' }
}
@{
    Name     = 'LoRA as a pickle checkpoint (.ckpt) is never opened'
    ErrorId  = 'LoraPickleRefused*'
    Category = 'SecurityError'
    Setup    = { param($ctx) [System.IO.File]::WriteAllBytes((Join-Path $ctx.Inputs 'style.ckpt'), [byte[]](0x80, 0x02, 0x7d)) }
    Script   = { param($ctx) Add-SdLora -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'style.ckpt') -ErrorAction Stop }
    Target   = { param($target, $ctx) "$target" -like '*style.ckpt' }
}
@{
    Name     = 'LoRA file that is not safetensors (text)'
    ErrorId  = 'LoraInvalidFile*'
    Category = 'InvalidData'
    Setup    = { param($ctx) Set-Content (Join-Path $ctx.Inputs 'text.safetensors') 'this is not a safetensors file at all' }
    Script   = { param($ctx) Add-SdLora -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'text.safetensors') -ErrorAction Stop }
    Target   = { param($target, $ctx) "$target" -like '*text.safetensors' }
}
@{
    Name     = 'LoRA file that does not exist'
    ErrorId  = 'LoraFileNotFound*'
    Category = 'ObjectNotFound'
    Script   = { param($ctx) Add-SdLora -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Inputs 'missing.safetensors') -ErrorAction Stop }
    Target   = { param($target, $ctx) "$target" -like '*missing.safetensors' }
}
@{
    Name     = 'LoRA weight NaN'
    ErrorId  = 'LoraWeightNotFinite*'
    Category = 'InvalidArgument'
    Script   = { param($ctx) Add-SdLora -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Fixtures 'tiny-sd-lora' 'tiny_lora_a.kohya.fp16.safetensors') -Weight ([single]::NaN) -ErrorAction Stop }
    Target   = { param($target, $ctx) [single]::IsNaN($target) }
}
@{
    Name     = 'LoRA text-encoder weight infinite'
    ErrorId  = 'LoraWeightNotFinite*'
    Category = 'InvalidArgument'
    Script   = { param($ctx) Add-SdLora -Pipeline $ctx.Pipeline -Path (Join-Path $ctx.Fixtures 'tiny-sd-lora' 'tiny_lora_a.kohya.fp16.safetensors') -TextEncoderWeight ([single]::PositiveInfinity) -ErrorAction Stop }
    Target   = { param($target, $ctx) [single]::IsPositiveInfinity($target) }
}
@{
    Name     = 'Remove-SdLora of a name that is not applied'
    ErrorId  = 'LoraNotFound*'
    Category = 'ObjectNotFound'
    Script   = { param($ctx) Remove-SdLora -Pipeline $ctx.Pipeline -Name 'no-such-lora' -ErrorAction Stop }
    Target   = { param($target, $ctx) $target -eq 'no-such-lora' }
}
@{
    Name     = 'New-SdPipeline -LoraPath folder that does not exist'
    ErrorId  = 'LoraPathNotFound*'
    Category = 'ObjectNotFound'
    Script   = { param($ctx) New-SdPipeline -Path $ctx.Model -ExecutionProvider Cpu -LoraPath (Join-Path $ctx.Inputs 'no-loras') -ErrorAction Stop }
    Target   = { param($target, $ctx) "$target" -like '*no-loras' }
}
