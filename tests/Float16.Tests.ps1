BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
}

Describe 'ConvertTo-SdFloat16' {
    It 'writes nothing with -WhatIf' {
        $dest = Join-Path $TestDrive 'whatif'
        ConvertTo-SdFloat16 -Path $script:Model -Destination $dest -WhatIf | Should -BeNullOrEmpty
        Test-Path $dest | Should -BeFalse
    }

    It 'converts the fixture into a folder New-SdPipeline loads as float16, and the image stays within 1 level' {
        $dest = Join-Path $TestDrive 'fp16'
        $out = ConvertTo-SdFloat16 -Path $script:Model -Destination $dest -Verbose 4>&1
        $folder = $out | Where-Object { $_ -is [System.IO.DirectoryInfo] }
        $folder.FullName | Should -Be $dest
        (($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n") | Should -Match 'unet: \d+ nodes, \d+ kept in float32'
        foreach ($file in 'model_index.json', 'tokenizer/vocab.json', 'scheduler/scheduler_config.json', 'unet/model.onnx') {
            Test-Path (Join-Path $dest $file) | Should -BeTrue
        }
        $p = $folder | New-SdPipeline -ExecutionProvider Cpu -Precision Float16
        try {
            $p.Precision | Should -Be 'float16'
            $image = $p | Invoke-SdGeneration -Prompt 'a photo of a cat' -Seed 0 -Steps 20 -Width 64 -Height 64
            Get-SdPixelDifference (Get-SdExpectedPath 'pipeline-diffusers-0.35', 'pndm20_default', 'image_0.png') $image.Image | Should -BeLessOrEqual 1
        }
        finally { $p.Dispose() }
    }

    It 'keeps float32 inputs and outputs with -KeepIOTypes, and takes the folder from the pipeline' {
        $dest = Join-Path $TestDrive 'keepio'
        $folder = Get-Item $script:Model | ConvertTo-SdFloat16 -Destination $dest -KeepIOTypes -KeepFloat32Op Softmax
        $p = New-SdPipeline $folder.FullName -ExecutionProvider Cpu
        try { $p.Precision | Should -Be 'float16' } finally { $p.Dispose() }
    }

    It 'converts an SDXL folder, keeps its force_upcast VAE float32 with a warning, and converts it with -IncludeVae' {
        $sdxl = Get-SdFixturePath 'tiny-sdxl'
        $dest = Join-Path $TestDrive 'sdxl'
        $out = ConvertTo-SdFloat16 -Path $sdxl -Destination $dest -WarningVariable w -WarningAction SilentlyContinue
        $out.FullName | Should -Be $dest
        ($w -join "`n") | Should -Match 'vae_encoder and vae_decoder copied in float32.*force_upcast.*-IncludeVae.*Set-SdVae'
        foreach ($file in 'tokenizer_2/vocab.json', 'text_encoder_2/model.onnx', 'vae_decoder/config.json') {
            Test-Path (Join-Path $dest $file) | Should -BeTrue
        }
        (Get-FileHash (Join-Path $dest 'vae_decoder' 'model.onnx')).Hash | Should -Be (Get-FileHash (Join-Path $sdxl 'vae_decoder' 'model.onnx')).Hash
        $p = New-SdPipeline $dest -ExecutionProvider Cpu -Precision Float16
        try { $p.Precision | Should -Be 'float16' } finally { $p.Dispose() }

        $all = Join-Path $TestDrive 'sdxl-vae'
        ConvertTo-SdFloat16 -Path $sdxl -Destination $all -IncludeVae -WarningVariable w2 | Out-Null
        $w2 | Should -BeNullOrEmpty
        (Get-Item (Join-Path $all 'vae_decoder' 'model.onnx')).Length | Should -BeLessThan (Get-Item (Join-Path $sdxl 'vae_decoder' 'model.onnx')).Length
    }

    It 'refuses a destination that holds files unless -Force' {
        $dest = New-Item -ItemType Directory (Join-Path $TestDrive 'full')
        Set-Content (Join-Path $dest 'keep.txt') 'x'
        $ErrorActionPreference = 'Continue'
        $out = ConvertTo-SdFloat16 -Path $script:Model -Destination $dest.FullName -ErrorVariable e -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $e[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $e[0].Exception.Message | Should -Match '-Force'
        (ConvertTo-SdFloat16 -Path $script:Model -Destination $dest.FullName -Force).FullName | Should -Be $dest.FullName
        Test-Path (Join-Path $dest 'unet' 'model.onnx') | Should -BeTrue
    }

    It 'says when the source is not a model folder' {
        $ErrorActionPreference = 'Continue'
        ConvertTo-SdFloat16 -Path (Join-Path $TestDrive 'nope') -Destination (Join-Path $TestDrive 'x') -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e[0].Exception.Message | Should -Match 'does not exist'
    }
}
