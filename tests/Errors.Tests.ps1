BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
    $script:Pipeline = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
    $script:Fast = @{ Steps = 2; Width = 64; Height = 64; Seed = 1 }
}

AfterAll {
    if ($script:Pipeline) { $script:Pipeline.Dispose() }
}

Describe 'New-SdPipeline on bad input' {
    It 'names a folder that does not exist' {
        $missing = Join-Path $TestDrive 'nope'
        $r = Get-SdError { New-SdPipeline -Path $missing -ExecutionProvider Cpu }
        $r.Error.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $r.Error.TargetObject | Should -Be $missing
        $r.Error.Exception.Message | Should -Match 'does not exist'
        $r.Output | Should -BeNullOrEmpty
    }

    It 'says a folder without model_index.json is not a model and how to export one' {
        $empty = New-Item -ItemType Directory (Join-Path $TestDrive 'empty')
        $r = Get-SdError { New-SdPipeline -Path $empty.FullName -ExecutionProvider Cpu }
        $r.Error.FullyQualifiedErrorId | Should -Match 'NotAModelFolder'
        $r.Error.Exception.Message | Should -Match 'model_index.json'
        $r.Error.Exception.Message | Should -Match 'optimum-cli export onnx'
    }

    It 'names a missing component' {
        $broken = New-SdBrokenModel (Join-Path $TestDrive 'nounet') -Without 'unet'
        $r = Get-SdError { New-SdPipeline -Path $broken -ExecutionProvider Cpu }
        $r.Error.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $r.Error.Exception.Message | Should -Match 'UNet'
        $r.Error.TargetObject | Should -Match 'unet.model\.onnx'
    }

    It 'names a corrupt graph' {
        $broken = New-SdBrokenModel (Join-Path $TestDrive 'corrupt') -Corrupt 'vae_decoder'
        $r = Get-SdError { New-SdPipeline -Path $broken -ExecutionProvider Cpu }
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidData'
        $r.Error.Exception.Message | Should -Match 'vae_decoder'
        $r.Error.Exception.Message | Should -Match 'corrupt'
    }

    It 'names the missing CUDA library and suggests the CPU when CUDA is asked for and absent' -Tag 'NoGpu' {
        # This machine (and CI) has no CUDA libraries; on a GPU machine this test is not meaningful.
        if (Get-Command nvidia-smi -ErrorAction Ignore) { Set-ItResult -Inconclusive -Because 'a GPU is present'; return }
        $r = Get-SdError { New-SdPipeline -Path $script:Model -ExecutionProvider Cuda }
        $r.Error.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $r.Error.Exception.Message | Should -Match 'lib\w+\.so(\.\d+)*'
        $r.Error.Exception.Message | Should -Match '-ExecutionProvider Cpu'
    }

    It 'falls back from Auto to the CPU with a warning when CUDA is absent' {
        if (Get-Command nvidia-smi -ErrorAction Ignore) { Set-ItResult -Inconclusive -Because 'a GPU is present'; return }
        $p = New-SdPipeline -Path $script:Model -WarningVariable w -WarningAction SilentlyContinue
        try {
            $p.ExecutionProvider | Should -Be 'Cpu'
            $p.RequestedExecutionProvider | Should -Be 'Auto'
            "$w" | Should -Match 'CPU'
        }
        finally { $p.Dispose() }
    }
}

Describe 'Invoke-SdGeneration on bad input' {
    It 'refuses a width that is not a multiple of 8, naming the fix' {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a' -Steps 2 -Width 70 -Height 64 }
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $r.Error.Exception.Message | Should -Match 'Width must be a positive multiple of 8'
        $r.Error.Exception.Message | Should -Match 'Try 64 or 72'
        $r.Output | Should -BeNullOrEmpty
    }

    It 'refuses a height that is not a multiple of 8' {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a' -Steps 2 -Width 64 -Height 63 }
        $r.Error.Exception.Message | Should -Match 'Height'
    }

    It 'refuses fewer than one step' {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a' -Steps 0 -Width 64 -Height 64 }
        $r.Error.Exception.Message | Should -Match 'Steps must be 1 or more'
    }

    It 'refuses a guidance scale that is <_>' -ForEach @('NaN', 'Infinity') {
        $g = [double]::Parse($_, [cultureinfo]::InvariantCulture)
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a' -GuidanceScale $g @script:Fast }
        $r.Error.Exception.Message | Should -Match 'GuidanceScale must be a finite number'
    }

    It 'refuses more seeds than prompts' {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a', 'b' -Seed 1, 2, 3 -Steps 2 -Width 64 -Height 64 }
        $r.Error.Exception.Message | Should -Match '3 seeds were given for 2 prompt'
        $r.Output | Should -BeNullOrEmpty
    }

    It 'keeps the other prompts of a piped batch when one record is bad' {
        $errors = $null
        $images = @(
            [pscustomobject]@{ Prompt = 'good one'; Seed = 1 }
            [pscustomobject]@{ Prompt = 'bad one'; Seed = -5 }
            [pscustomobject]@{ Prompt = 'good two'; Seed = 2 }
        ) | Invoke-SdGeneration -Pipeline $script:Pipeline -Steps 2 -Width 64 -Height 64 -ErrorVariable errors -ErrorAction SilentlyContinue
        $images.Prompt | Should -Be @('good one', 'good two')
        $errors.Count | Should -Be 1
        $errors[0].Exception.Message | Should -Match 'Seeds must be 0 or more'
    }

    It 'refuses a disposed pipeline clearly' {
        $p = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
        $p.Dispose()
        { Invoke-SdGeneration -Pipeline $p -Prompt 'a' @script:Fast -ErrorAction Stop } | Should -Throw '*disposed*'
    }
}

Describe 'Save-SdImage safety' {
    BeforeAll {
        $script:Image = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a' @script:Fast
    }

    It 'writes nothing with -WhatIf' {
        $png = Join-Path $TestDrive 'whatif.png'
        $script:Image | Save-SdImage -Path $png -WhatIf
        Test-Path $png | Should -BeFalse
        (Get-ChildItem $TestDrive -Filter '*.tmp*' -ErrorAction Ignore) | Should -BeNullOrEmpty
    }

    It 'does not overwrite without -Force and leaves no partial file' {
        $png = Join-Path $TestDrive 'exists.png'
        Set-Content $png 'keep me'
        $r = Get-SdError { $script:Image | Save-SdImage -Path $png }
        $r.Error.Exception.Message | Should -Match '-Force'
        Get-Content $png | Should -Be 'keep me'
        (Get-ChildItem $TestDrive | Where-Object Name -Match 'exists' ).Count | Should -Be 1
        $script:Image | Save-SdImage -Path $png -Force
        [System.IO.File]::ReadAllBytes($png)[1..3] | Should -Be ([byte[]][char[]]'PNG')
    }

    It 'names files in a directory from index and seed' {
        $dir = Join-Path $TestDrive 'many'
        $files = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a', 'b' -Seed 3 -Steps 2 -Width 64 -Height 64 |
            Save-SdImage -Directory $dir -PassThru
        $files.Name | Should -Be @('0000-3.png', '0001-3.png')
    }
}
