# Render jobs: bad Loras, LoraPath and EmbeddingPath entries are job problems found before any model loads.
function global:New-SdLoraHostileJob($ctx, [string] $Adapters, [string] $Model = $ctx.Model) {
    @"
@{
    Model = '$Model'
    Provider = 'Cpu'
    $Adapters
    Defaults = @{ Steps = 2; Width = 64; Height = 64; Seeds = '1' }
    Prompts = @( 'a fox' )
    OutputDirectory = '$($ctx.Output)'
}
"@ | Set-Content (Join-Path $ctx.Inputs 'job.psd1')
}

$isJob = { param($target, $ctx) $target -eq (Join-Path $ctx.Inputs 'job.psd1') }

@{
    Name = 'Render job: a missing LoRA file'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'; Target = $isJob
    Setup = { param($ctx) New-SdLoraHostileJob $ctx "Loras = @( 'nowhere.safetensors' )" }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Render job: a pickle LoRA (.pt)'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'; Target = $isJob
    Setup = { param($ctx)
        Set-Content (Join-Path $ctx.Inputs 'style.pt') 'not safetensors'
        New-SdLoraHostileJob $ctx "Loras = 'style.pt'"
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Render job: a LoRA file with a garbage header'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'; Target = $isJob
    Setup = { param($ctx)
        Set-Content (Join-Path $ctx.Inputs 'broken.safetensors') 'garbage garbage garbage'
        New-SdLoraHostileJob $ctx "Loras = @( @{ Path = 'broken.safetensors'; Weight = 0.7 } )"
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Render job: an SD 1.5 LoRA for an SDXL model'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'; Target = $isJob
    Setup = { param($ctx)
        $lora = Join-Path $ctx.Fixtures 'tiny-sd-lora' 'tiny_lora_a.kohya.fp16.safetensors'
        New-SdLoraHostileJob $ctx "Loras = '$lora'" -Model (Join-Path $ctx.Fixtures 'tiny-sdxl')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Render job: a LoRA weight that is text'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'; Target = $isJob
    Setup = { param($ctx)
        $lora = Join-Path $ctx.Fixtures 'tiny-sd-lora' 'tiny_lora_a.kohya.fp16.safetensors'
        New-SdLoraHostileJob $ctx "Loras = @( @{ Path = '$lora'; Weight = 'strong' } )"
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Render job: the same LoRA listed twice'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'; Target = $isJob
    Setup = { param($ctx)
        $lora = Join-Path $ctx.Fixtures 'tiny-sd-lora' 'tiny_lora_a.kohya.fp16.safetensors'
        New-SdLoraHostileJob $ctx "Loras = @( '$lora', @{ Path = '$lora'; Weight = 0.5 } )"
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Render job: a LoRA entry that is a number'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'; Target = $isJob
    Setup = { param($ctx) New-SdLoraHostileJob $ctx "Loras = @( 42 )" }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Render job: a LoraPath folder that does not exist'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'; Target = $isJob
    Setup = { param($ctx) New-SdLoraHostileJob $ctx "LoraPath = 'no-such-folder'" }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Render job: an EmbeddingPath folder with no .safetensors file'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'; Target = $isJob
    Setup = { param($ctx)
        New-Item -ItemType Directory (Join-Path $ctx.Inputs 'embeddings') | Out-Null
        Set-Content (Join-Path $ctx.Inputs 'embeddings' 'style.pt') 'pickle'
        New-SdLoraHostileJob $ctx "EmbeddingPath = 'embeddings'"
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'Render job: a pickle embedding file (.pt)'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'; Target = $isJob
    Setup = { param($ctx)
        Set-Content (Join-Path $ctx.Inputs 'style.pt') 'pickle'
        New-SdLoraHostileJob $ctx "EmbeddingPath = @( 'style.pt' )"
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
