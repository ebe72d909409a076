# A1111 prompt syntax through the cmdlets: -PromptSyntax on Invoke-SdGeneration (and by property name), the pipeline's
# default from New-SdPipeline, Get-SdPromptToken's chunks and weights, the PNG metadata and Get-SdImageInfo's reading of
# an A1111 infotext, render job keys. The numbers themselves are pinned by the xunit parity tests (A1111PipelineParityTests).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Pipeline = New-SdPipeline -Path (Get-SdFixturePath) -ExecutionProvider Cpu
    $script:Fast = @{ Steps = 2; Width = 64; Height = 64; Seed = 1 }
    $script:Out = Join-Path ([System.IO.Path]::GetTempPath()) "sd-a1111-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory $script:Out | Out-Null
}

AfterAll {
    $script:Pipeline.Dispose()
    Remove-Item -Recurse -Force $script:Out -ErrorAction SilentlyContinue
}

Describe 'Invoke-SdGeneration -PromptSyntax' {
    # The tiny encoder's final layer norm has no affine shift, so A1111's 'Original' emphasis is 0/0 on it (fixture
    # README): these comparisons use NoNorm.
    It 'reads weights: A1111 gives another image than Plain for a weighted prompt' {
        $plain = Invoke-SdGeneration -Pipeline $Pipeline -Prompt 'a (red:1.5) car' @Fast
        $a1111 = Invoke-SdGeneration -Pipeline $Pipeline -Prompt 'a (red:1.5) car' -PromptSyntax A1111 -Emphasis NoNorm @Fast
        try {
            (Get-SdPixelDifference $plain.Image $a1111.Image) | Should -BeGreaterThan 0
            $a1111.PromptSyntax | Should -Be 'A1111'
            $plain.PromptSyntax | Should -Be 'Plain'
        } finally { $plain.Dispose(); $a1111.Dispose() }
    }

    It 'gives the Plain image for a prompt without A1111 syntax (one chunk, weights 1)' {
        $plain = Invoke-SdGeneration -Pipeline $Pipeline -Prompt 'a red car' -NegativePrompt 'blurry' @Fast
        $a1111 = Invoke-SdGeneration -Pipeline $Pipeline -Prompt 'a red car' -NegativePrompt 'blurry' -PromptSyntax A1111 -Emphasis NoNorm @Fast
        try { Get-SdPixelDifference $plain.Image $a1111.Image | Should -Be 0 } finally { $plain.Dispose(); $a1111.Dispose() }
    }

    It 'does not warn about a prompt longer than 77 tokens: it is chunked, not truncated' {
        $long = (1..40 | ForEach-Object { 'red car' }) -join ', '
        $warnings = @()
        $image = Invoke-SdGeneration -Pipeline $Pipeline -Prompt $long -PromptSyntax A1111 @Fast -WarningVariable warnings
        $image.Dispose()
        $warnings | Should -BeNullOrEmpty
        $plainWarnings = @()
        (Invoke-SdGeneration -Pipeline $Pipeline -Prompt $long @Fast -WarningVariable plainWarnings -WarningAction SilentlyContinue).Dispose()
        $plainWarnings | Should -Not -BeNullOrEmpty
    }

    It 'binds PromptSyntax, Emphasis and PadCondUncond by property name' {
        $row = [pscustomobject]@{ Prompt = 'a [cat:dog:0.5]'; PromptSyntax = 'A1111'; Emphasis = 'NoNorm'; PadCondUncond = $true; Steps = 2; Width = 64; Height = 64; Seed = 3 }
        $image = $row | Invoke-SdGeneration -Pipeline $Pipeline
        try {
            $image.PromptSyntax | Should -Be 'A1111'
            $image.Emphasis | Should -Be 'NoNorm'
            $image.PadCondUncond | Should -BeTrue
        } finally { $image.Dispose() }
    }

    It 'takes the pipeline default from New-SdPipeline -PromptSyntax, and an explicit value over it' {
        $p = New-SdPipeline -Path (Get-SdFixturePath) -ExecutionProvider Cpu -PromptSyntax A1111
        try {
            $p.PromptSyntax | Should -Be 'A1111'
            $a = Invoke-SdGeneration -Pipeline $p -Prompt 'a (cat:1.2)' @Fast
            $b = Invoke-SdGeneration -Pipeline $p -Prompt 'a (cat:1.2)' -PromptSyntax Plain @Fast
            try {
                $a.PromptSyntax | Should -Be 'A1111'
                $b.PromptSyntax | Should -Be 'Plain'
            } finally { $a.Dispose(); $b.Dispose() }
        } finally { $p.Dispose() }
    }

    It 'refuses AND composition before any model work, naming the prompt' {
        $e = (Get-SdError { Invoke-SdGeneration -Pipeline $Pipeline -Prompt 'a cat AND a dog' -PromptSyntax A1111 @Fast }).Error
        $e.FullyQualifiedErrorId | Should -BeLike 'A1111CompositionUnsupported*'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.TargetObject | Should -Be 'a cat AND a dog'
    }

    It 'refuses a weight that is no number, and says how to read it literally' {
        $e = (Get-SdError { Invoke-SdGeneration -Pipeline $Pipeline -Prompt 'a (cat:.) photo' -PromptSyntax A1111 @Fast }).Error
        $e.FullyQualifiedErrorId | Should -BeLike 'InvalidA1111Prompt*'
        $e.Exception.Message | Should -BeLike '*-PromptSyntax Plain*'
    }
}

Describe 'PNG metadata and Get-SdImageInfo' {
    It 'records the syntax and reads it back, so regeneration gives the same image' {
        $image = Invoke-SdGeneration -Pipeline $Pipeline -Prompt 'a (red:1.3) car BREAK night' -PromptSyntax A1111 -Emphasis NoNorm @Fast
        try {
            $path = Join-Path $Out 'a1111.png'
            $image | Save-SdImage -Path $path | Out-Null
            $info = Get-SdImageInfo -Path $path
            $info.PromptSyntax | Should -Be 'A1111'
            $info.Emphasis | Should -Be 'NoNorm'
            $again = $info | Invoke-SdGeneration -Pipeline $Pipeline
            try { Get-SdPixelDifference $image.Image $again.Image | Should -Be 0 } finally { $again.Dispose() }
        } finally { $image.Dispose() }
    }

    It 'reads an A1111 infotext as A1111 syntax' {
        # A PNG holding only an A1111 infotext (no JSON record, no "Prompt syntax" field), as the webui writes it.
        $path = Join-Path $Out 'foreign.png'
        $text = "a (red:1.3) car`nNegative prompt: (blurry:1.2)`nSteps: 2, Sampler: PNDM, CFG scale: 7.5, Seed: 1, Size: 64x64, Model: tiny-sd, Version: v1.10.1"
        $png = [SixLabors.ImageSharp.Image[SixLabors.ImageSharp.PixelFormats.Rgb24]]::new(8, 8)
        try {
            $chunks = [System.Collections.Generic.Dictionary[string, string]]::new()
            $chunks['parameters'] = $text
            [StableDiffusion.Imaging.PngFile]::SaveWithText($png, $path, $chunks, $false)
        } finally { $png.Dispose() }
        $info = Get-SdImageInfo -Path $path
        $info.PromptSyntax | Should -Be 'A1111'
        $info.Prompt | Should -Be 'a (red:1.3) car'
    }
}

Describe 'Get-SdPromptToken -PromptSyntax A1111' {
    It 'shows the chunks and the weights of each token' {
        $t = Get-SdPromptToken -Pipeline $Pipeline -Prompt 'a (red:1.3) car BREAK night' -PromptSyntax A1111
        $t.ChunkCount | Should -Be 2
        $t.Chunks[0].Ids.Count | Should -Be 77
        $t.Chunks[0].Ids[0] | Should -Be 49406
        # BOS, "a", "red" (weight 1.3), "car", then EOS padding at weight 1.
        $t.Chunks[0].Weights[0..3] | Should -Be @(1.0, 1.0, 1.3, 1.0)
        ($t.Fragments | Where-Object Text -eq 'red').Weight | Should -Be 1.3
    }

    It 'gives one object per schedule text of an edited prompt' {
        $t = @(Get-SdPromptToken -Pipeline $Pipeline -Prompt 'a [cat:dog:0.5]' -PromptSyntax A1111)
        $t.Count | Should -Be 2
        $t.Text | Should -Be @('a cat', 'a dog')
        $t.EndAtStep | Should -Be @(25, 50) # of the default 50 steps
    }
}

Describe 'Render jobs' {
    BeforeAll {
        function New-A1111Job([string] $Folder, [string] $PromptTable) {
            New-Item -ItemType Directory -Force $Folder | Out-Null
            $path = Join-Path $Folder 'job.psd1'
            @"
@{
    Model = '$(Get-SdFixturePath)'
    Provider = 'Cpu'
    Defaults = @{ Steps = 2; Width = 64; Height = 64; Seeds = '1' }
    Prompts = @( $PromptTable )
    OutputDirectory = 'out'
}
"@ | Set-Content $path
            $path
        }
    }

    It 'renders a prompt with PromptSyntax A1111 and records it' {
        $job = New-A1111Job (Join-Path $Out 'job') "@{ Prompt = 'a (red:1.3) car'; PromptSyntax = 'A1111'; Emphasis = 'NoNorm' }"
        Invoke-SdRenderJob -Path $job | Out-Null
        $png = Get-ChildItem (Join-Path $Out 'job' 'out') -Filter *.png | Select-Object -First 1
        $info = Get-SdImageInfo -Path $png.FullName
        $info.PromptSyntax | Should -Be 'A1111'
        $info.Emphasis | Should -Be 'NoNorm'
    }

    It 'refuses an unknown PromptSyntax value, naming the allowed ones' {
        $job = New-A1111Job (Join-Path $Out 'job-bad') "@{ Prompt = 'x'; PromptSyntax = 'Compel' }"
        $e = (Get-SdError { Invoke-SdRenderJob -Path $job }).Error
        $e.Exception.Message | Should -BeLike '*PromptSyntax must be one of Plain, A1111*'
    }
}
