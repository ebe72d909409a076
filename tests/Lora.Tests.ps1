# Issue 14: LoRA through the cmdlets (Add-SdLora, Get-SdLora, Remove-SdLora, Clear-SdLora, New-SdPipeline -LoraPath).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
    $script:Loras = [System.IO.Path]::GetFullPath((Join-Path $script:Model '..' 'tiny-sd-lora'))
    if (-not (Test-Path (Join-Path $script:Loras 'tiny_lora_a.kohya.fp16.safetensors'))) { throw "The LoRA fixtures are missing: $script:Loras" }
    $script:A = Join-Path $script:Loras 'tiny_lora_a.kohya.fp16.safetensors'
    $script:B = Join-Path $script:Loras 'tiny_lora_b.kohya.fp16.safetensors'

    # The worst |difference| between an image's pixels and a case's image.f32.
    function script:Get-WorstPixel($Image, [string] $Case) {
        $expected = [System.IO.File]::ReadAllBytes((Get-SdExpectedPath 'lora-diffusers-0.35', $Case, 'image.f32'))
        $pixels = $Image.Result.Pixels
        $pixels.Count | Should -Be ($expected.Length / 4)
        $worst = 0.0
        for ($j = 0; $j -lt $pixels.Count; $j++) {
            $d = [Math]::Abs($pixels[$j] - [BitConverter]::ToSingle($expected, 4 * $j))
            if ($d -gt $worst) { $worst = $d }
        }
        $worst
    }
    $script:Case = @{ Prompt = 'a watercolor painting of a fox in the snow'; Seed = 500; Steps = 20; Width = 64; Height = 64; GuidanceScale = 7.5 }
}

Describe 'Add-SdLora and the fixture images' {
    BeforeAll { $script:Pipeline = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu -LoraPath $script:Loras }
    AfterAll { if ($script:Pipeline) { $script:Pipeline.Dispose() } }

    It 'reproduces diffusers'' lora_ab_1_08 image (a at 1.0 + b at 0.8) through the cmdlets' {
        $out = $script:Pipeline | Add-SdLora $script:A | Add-SdLora $script:B -Weight 0.8
        $out | Should -Be $script:Pipeline
        $image = Invoke-SdGeneration -Pipeline $script:Pipeline @script:Case
        Get-WorstPixel $image 'lora_ab_1_08' | Should -BeLessOrEqual 1e-4
        $png = Join-Path $TestDrive 'ab.png'
        $image | Save-SdImage -Path $png
        Get-SdPixelDifference (Get-SdExpectedPath 'lora-diffusers-0.35', 'lora_ab_1_08', 'image_0.png') $png | Should -BeLessOrEqual 1
    }

    It 'lists the set with Get-SdLora and on the pipeline object' {
        $set = @(Get-SdLora -Pipeline $script:Pipeline)
        $set.Name | Should -Be @('tiny_lora_a.kohya.fp16', 'tiny_lora_b.kohya.fp16')
        $set[1].Weight | Should -Be ([single]0.8)
        $set[1].TextEncoderWeight | Should -Be ([single]0.8)
        $set[0].Modules | Should -Be 94
        $set[1].Modules | Should -Be 61
        $set[0].Path | Should -Be $script:A
        $script:Pipeline.Lora | Should -Be @('tiny_lora_a.kohya.fp16:1', 'tiny_lora_b.kohya.fp16:0.8')
        @(Get-SdLora -Pipeline $script:Pipeline 'TINY_LORA_B*').Name | Should -Be 'tiny_lora_b.kohya.fp16'
        ($set | Format-Table | Out-String) | Should -Match 'TextEncoderWeight'
    }

    It 'removes one LoRA by name (piped from Get-SdLora) and matches lora_a_scale1' {
        $out = Get-SdLora -Pipeline $script:Pipeline 'tiny_lora_b*' | Remove-SdLora -Pipeline $script:Pipeline
        $out | Should -Be $script:Pipeline
        @(Get-SdLora -Pipeline $script:Pipeline).Name | Should -Be 'tiny_lora_a.kohya.fp16'
        Get-WorstPixel (Invoke-SdGeneration -Pipeline $script:Pipeline @script:Case) 'lora_a_scale1' | Should -BeLessOrEqual 1e-4
    }

    It 'changes nothing with -WhatIf' {
        $script:Pipeline | Add-SdLora $script:B -WhatIf | Should -Be $script:Pipeline
        $script:Pipeline | Clear-SdLora -WhatIf | Out-Null
        Remove-SdLora -Pipeline $script:Pipeline -Name 'tiny_lora_a.kohya.fp16' -WhatIf | Out-Null
        @(Get-SdLora -Pipeline $script:Pipeline).Name | Should -Be 'tiny_lora_a.kohya.fp16'
    }

    It 'refuses the same LoRA twice' {
        $r = Get-SdError { $script:Pipeline | Add-SdLora $script:A }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'LoraAlreadyAdded*'
        $r.Error.CategoryInfo.Category | Should -Be 'ResourceExists'
    }

    It 'clears the set and goes back to the no_lora image' {
        $script:Pipeline | Clear-SdLora | Should -Be $script:Pipeline
        @(Get-SdLora -Pipeline $script:Pipeline).Count | Should -Be 0
        Get-WorstPixel (Invoke-SdGeneration -Pipeline $script:Pipeline @script:Case) 'no_lora' | Should -BeLessOrEqual 1e-4
    }

    It 'finds a bare name in -LoraPath, at 0.5 (lora_a_scale05)' {
        $script:Pipeline | Add-SdLora 'tiny_lora_a.kohya.fp16' -Weight 0.5 | Out-Null
        (Get-SdLora -Pipeline $script:Pipeline).Path | Should -Be $script:A
        Get-WorstPixel (Invoke-SdGeneration -Pipeline $script:Pipeline @script:Case) 'lora_a_scale05' | Should -BeLessOrEqual 1e-4
        $script:Pipeline | Clear-SdLora | Out-Null
    }

    It 'says which names are applied when removing one that is not' {
        $r = Get-SdError { Remove-SdLora -Pipeline $script:Pipeline -Name 'nope' }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'LoraNotFound*'
        $r.Error.TargetObject | Should -Be 'nope'
        $r.Output | Should -Be $script:Pipeline
    }
}
