# Hostile-input cases for A1111 prompt syntax (Invoke-SdGeneration -PromptSyntax A1111, Get-SdPromptToken, render jobs).
# Run by tests/Hostile.Tests.ps1 (the format is in tests/Hostile/README.md). Every refusal comes before any model work.

@{
    Name = 'A1111: AND composition is refused by name'; ErrorId = 'A1111CompositionUnsupported*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a cat AND a dog:0.5' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq 'a cat AND a dog:0.5' }
}
@{
    Name = 'A1111: a weight on the whole prompt (an AND part of one) is refused'; ErrorId = 'A1111CompositionUnsupported*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a cat :1.5' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
}
@{
    Name = 'A1111: an emphasis weight that is no number (a:.)'; ErrorId = 'InvalidA1111Prompt*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a (cat:.) photo' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq 'a (cat:.) photo' }
}
@{
    Name = 'A1111: an emphasis weight with two dots in the negative prompt'; ErrorId = 'InvalidA1111Prompt*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a cat' -NegativePrompt '(x:1.2.3)' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq '(x:1.2.3)' }
}
@{
    Name = 'A1111: an infinite editing step [a:b:1e999]'; ErrorId = 'InvalidA1111Prompt*'; Category = 'InvalidArgument'
    Script = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'a [cat:dog:1e999]' -PromptSyntax A1111 -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
}
@{
    Name = 'A1111: Get-SdPromptToken with a weight that is no number'; ErrorId = 'InvalidA1111Prompt*'; Category = 'InvalidArgument'
    Script = { param($ctx) Get-SdPromptToken -Pipeline $ctx.Pipeline -Prompt '(a:.)' -PromptSyntax A1111 -ErrorAction Stop }
    Target = { param($target, $ctx) $target -eq '(a:.)' }
}
@{
    Name = 'A1111: a render job prompt with AND composition'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        @"
@{
    Model = '$($ctx.Model)'
    Provider = 'Cpu'
    Defaults = @{ Steps = 2; Width = 64; Height = 64; Seeds = '1'; PromptSyntax = 'A1111' }
    Prompts = @( 'a cat AND a dog' )
    OutputDirectory = '$($ctx.Output)'
}
"@ | Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
@{
    Name = 'A1111: a render job with an unknown Emphasis'; ErrorId = 'InvalidJobFile*'; Category = 'InvalidData'
    Setup = { param($ctx)
        @"
@{
    Model = '$($ctx.Model)'
    Provider = 'Cpu'
    Defaults = @{ Steps = 2; Width = 64; Height = 64; Seeds = '1' }
    Prompts = @( @{ Prompt = 'a (cat:1.2)'; PromptSyntax = 'A1111'; Emphasis = 'Loud' } )
    OutputDirectory = '$($ctx.Output)'
}
"@ | Set-Content (Join-Path $ctx.Inputs 'job.psd1')
    }
    Script = { param($ctx) Invoke-SdRenderJob -Path (Join-Path $ctx.Inputs 'job.psd1') -ErrorAction Stop }
}
