# Textual inversion through the cmdlets: Add-SdEmbedding / Get-SdEmbedding / New-SdPipeline -EmbeddingPath, one diffusers
# reference image (textual-inversion-diffusers-0.35/ti_cat_style: image atol 1e-4, PNG within 1 level), and refusals.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
    $script:A1111 = Join-Path (Split-Path $script:Model -Parent) 'tiny-sd-lora' 'tiny-style.a1111.safetensors'
    $script:Diffusers = Join-Path (Split-Path $script:Model -Parent) 'tiny-sd-lora' 'tiny-style.diffusers.safetensors'
    $script:Manifest = Get-Content (Get-SdExpectedPath 'textual-inversion-diffusers-0.35', 'manifest.json') -Raw | ConvertFrom-Json -AsHashtable
    $script:Pipeline = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu | Add-SdEmbedding $script:A1111 -Token '<tiny-style>'
}

AfterAll {
    if ($script:Pipeline) { $script:Pipeline.Dispose() }
}

Describe 'Add-SdEmbedding' {
    It 'reproduces diffusers'' ti_cat_style image' {
        $c = $script:Manifest.cases | Where-Object id -eq 'ti_cat_style'
        $image = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt $c.prompt -Seed $c.seed -Steps $c.num_inference_steps `
            -GuidanceScale $c.guidance_scale -Width $c.width -Height $c.height -Scheduler $c.scheduler.class
        $expected = [System.IO.File]::ReadAllBytes((Get-SdExpectedPath 'textual-inversion-diffusers-0.35', 'ti_cat_style', 'image.f32'))
        $pixels = $image.Result.Pixels
        $pixels.Count | Should -Be ($expected.Length / 4)
        $worst = 0.0
        for ($j = 0; $j -lt $pixels.Count; $j++) { $worst = [Math]::Max($worst, [Math]::Abs($pixels[$j] - [BitConverter]::ToSingle($expected, 4 * $j))) }
        $worst | Should -BeLessOrEqual 1e-4
        $png = Join-Path $TestDrive 'ti_cat_style.png'
        $image | Save-SdImage -Path $png
        Get-SdPixelDifference (Get-SdExpectedPath 'textual-inversion-diffusers-0.35', 'ti_cat_style', 'image_0.png') $png | Should -BeLessOrEqual 1
    }

    It 'writes the pipeline out and lists the embedding with the manifest''s token ids' {
        $e = @($script:Pipeline | Get-SdEmbedding)
        $e.Count | Should -Be 1
        $e[0].Token | Should -Be '<tiny-style>'
        $e[0].Tokens | Should -Be @('<tiny-style>', '<tiny-style>_1')
        $e[0].TokenIds | Should -Be @($script:Manifest.checks.added_token_ids['<tiny-style>'], $script:Manifest.checks.added_token_ids['<tiny-style>_1'])
        $e[0].Vectors | Should -Be 2
        $e[0].Dimension | Should -Be 32
        $e[0].Format | Should -Be 'emb_params'
        @($script:Pipeline | Get-SdEmbedding 'other*').Count | Should -Be 0
    }

    It 'refuses the same token again, and the pipeline keeps one embedding' {
        $err = { Add-SdEmbedding -Pipeline $script:Pipeline -Path $script:Diffusers } | Should -Throw -ErrorId 'EmbeddingTokenExists,*' -PassThru
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.TargetObject | Should -Be '<tiny-style>'
        $err.Exception.Message | Should -BeLike '*-Token*'
        @($script:Pipeline | Get-SdEmbedding).Count | Should -Be 1
    }

    It 'takes the diffusers file''s token when -Token is left out' {
        $p = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu | Add-SdEmbedding $script:Diffusers
        try { ($p | Get-SdEmbedding).Token | Should -Be '<tiny-style>' }
        finally { $p.Dispose() }
    }
}

Describe 'New-SdPipeline -EmbeddingPath' {
    It 'loads a folder''s files with their file names as tokens (A1111) and a file with its own token' {
        $folder = Join-Path $TestDrive 'embeddings'
        New-Item -ItemType Directory $folder | Out-Null
        Copy-Item $script:A1111 (Join-Path $folder 'tiny-style.safetensors')
        $p = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu -EmbeddingPath $folder, $script:Diffusers
        try {
            $list = @($p | Get-SdEmbedding)
            $list.Token | Should -Be @('tiny-style', '<tiny-style>')
            $list[1].TokenIds | Should -Be @(49410, 49411)
            # The A1111 token in a prompt is the file name: its two vectors reach the encoder (image differs from plain text).
            $with = Invoke-SdGeneration -Pipeline $p -Prompt 'a cat in tiny-style style' -Seed 3 -Steps 2 -Width 64 -Height 64
            $plain = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a cat in tiny-style style' -Seed 3 -Steps 2 -Width 64 -Height 64
            $diff = 0.0
            for ($j = 0; $j -lt $with.Result.Pixels.Count; $j++) { $diff = [Math]::Max($diff, [Math]::Abs($with.Result.Pixels[$j] - $plain.Result.Pixels[$j])) }
            $diff | Should -BeGreaterThan 1e-3
        }
        finally { $p.Dispose() }
    }

    It 'refuses a missing embedding path before loading the model' {
        $err = Get-SdError { New-SdPipeline -Path $script:Model -ExecutionProvider Cpu -EmbeddingPath (Join-Path $TestDrive 'nowhere') }
        $err.Error.FullyQualifiedErrorId | Should -BeLike 'EmbeddingPathNotFound,*'
        $err.Error.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err.Output | Should -BeNullOrEmpty
    }
}
