# Hostile cases for A1111 extra-network tags (<lora:name:te:unet>, issue 14) in Invoke-SdGeneration -PromptSyntax A1111.
# Run by tests/Hostile.Tests.ps1 (format in tests/Hostile/README.md). Every refusal comes before any model work; a tag
# under -PromptSyntax Plain is text, not an error (tests/ExtraNetworks.Tests.ps1 and the xunit A1111LoraTagTests).

@{
    Name = 'ExtraNetworks: a <lora:name> tag with no LoRA folder set'; ErrorId = 'PromptLoraNotFound*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a fox <lora:no_such_lora:1>' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq 'no_such_lora' }
}
@{
    Name = 'ExtraNetworks: a <lora:name> tag naming no file in -LoraPath'; ErrorId = 'PromptLoraNotFound*'; Category = 'InvalidArgument'
    Script = { param($ctx)
        $p = New-SdPipeline -Path $ctx.Model -LoraPath (Join-Path $ctx.Fixtures 'tiny-sd-lora') -ErrorAction Stop
        try { Invoke-SdGeneration -Pipeline $p -Prompt 'a fox <lora:tiny_lora_c:0.5>' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
        finally { $p.Dispose() } }
    Target = { param($target, $ctx) $target -eq 'tiny_lora_c' }
}
@{
    Name = 'ExtraNetworks: an unknown LoRA in the second prompt of a list is refused too'; ErrorId = 'PromptLoraNotFound*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a fox', 'a cat <lora:missing>' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq 'missing' }
}
@{
    Name = 'ExtraNetworks: a LoRA weight that is no number <lora:x:abc>'; ErrorId = 'InvalidA1111Prompt*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a fox <lora:x:abc>' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq 'a fox <lora:x:abc>' }
}
@{
    Name = 'ExtraNetworks: a NaN LoRA weight <lora:x:nan>'; ErrorId = 'InvalidA1111Prompt*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a fox <lora:x:nan>' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq 'a fox <lora:x:nan>' }
}
@{
    Name = 'ExtraNetworks: an infinite UNet multiplier <lora:x:1:unet=inf>'; ErrorId = 'InvalidA1111Prompt*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt '<lora:x:1:unet=inf> a fox' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
}
@{
    Name = 'ExtraNetworks: a LoRA tag without a name <lora:te=1>'; ErrorId = 'InvalidA1111Prompt*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a fox <lora:te=1>' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
}
@{
    Name = 'ExtraNetworks: a DyLoRA dimension <lora:x:1:1:dyn=8>'; ErrorId = 'InvalidA1111Prompt*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a fox <lora:x:1:dyn=8>' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
}
@{
    Name = 'ExtraNetworks: a tag of another network type <hypernet:x:1>'; ErrorId = 'InvalidA1111Prompt*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a fox <hypernet:x:1>' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
}
@{
    Name = 'ExtraNetworks: a LoRA name with a folder in it <lora:../x>'; ErrorId = 'PromptLoraNameInvalid*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a fox <lora:../x:1>' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq '../x' }
}
@{
    Name = 'ExtraNetworks: a multi-vector embedding (-EmbeddingPath, named by file) in an A1111 prompt'; ErrorId = 'A1111MultiVectorEmbeddingUnsupported*'; Category = 'InvalidArgument'
    Setup = { param($ctx) New-Item -ItemType Directory (Join-Path $ctx.Inputs 'emb') | Out-Null
        Copy-Item (Join-Path $ctx.Fixtures 'tiny-sd-lora' 'tiny-style.a1111.safetensors') (Join-Path $ctx.Inputs 'emb' 'tinystyle.safetensors') }
    Script = { param($ctx)
        $p = New-SdPipeline -Path $ctx.Model -EmbeddingPath (Join-Path $ctx.Inputs 'emb') -ErrorAction Stop
        try { Invoke-SdGeneration -Pipeline $p -Prompt 'a tinystyle fox' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
        finally { $p.Dispose() } }
    Target = { param($target, $ctx) $target -eq 'tinystyle' }
}
