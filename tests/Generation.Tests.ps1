BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
    $script:Pipeline = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
    $script:Fast = @{ Steps = 3; Width = 64; Height = 64 }
}

AfterAll {
    if ($script:Pipeline) { $script:Pipeline.Dispose() }
}

Describe 'New-SdPipeline' {
    It 'loads the fixture on the CPU and describes it' {
        $script:Pipeline.Model | Should -Be 'tiny-sd'
        $script:Pipeline.ExecutionProvider | Should -Be 'Cpu'
        $script:Pipeline.Precision | Should -Be 'float32'
        "$($script:Pipeline.Scheduler)" | Should -Be 'PNDMScheduler'
    }

    It 'loads the float16-IO fixture' {
        $p = New-SdPipeline -Path (Get-SdFixturePath 'tiny-sd-fp16io') -ExecutionProvider Cpu
        try { $p.Precision | Should -Be 'float16' } finally { $p.Dispose() }
    }

    It 'takes the path from the pipeline by property name' {
        $p = Get-Item $script:Model | New-SdPipeline -ExecutionProvider Cpu
        try { $p.Path | Should -Be $script:Model } finally { $p.Dispose() }
    }
}

Describe 'New-SdPipeline | Invoke-SdGeneration | Save-SdImage' {
    It 'writes the PNG that diffusers writes (pndm20_default, within 1 level)' {
        $png = Join-Path $TestDrive 'cat.png'
        $file = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu |
            Invoke-SdGeneration -Prompt 'a photo of a cat' -Seed 0 -Steps 20 -GuidanceScale 7.5 -Width 64 -Height 64 |
            Save-SdImage -Path $png -PassThru
        $file | Should -BeOfType System.IO.FileInfo
        $file.FullName | Should -Be $png
        $expected = Get-SdExpectedPath 'pipeline-diffusers-0.35', 'pndm20_default', 'image_0.png'
        Get-SdPixelDifference $expected $png | Should -BeLessOrEqual 1
    }

    It 'records the generation parameters in the PNG' {
        $png = Join-Path $TestDrive 'params.png'
        Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a red fox' -NegativePrompt 'blurry' -Seed 42 @script:Fast | Save-SdImage -Path $png
        $bytes = [System.IO.File]::ReadAllBytes($png)
        $text = [System.Text.Encoding]::UTF8.GetString($bytes)
        $text | Should -Match 'parameters'
        $text | Should -Match 'a red fox'
        $text | Should -Match 'Negative prompt: blurry'
        $text | Should -Match 'Seed: 42'
        $text | Should -Match 'Steps: 3'
    }
}

Describe 'Invoke-SdGeneration' {
    It 'gives three images with the right seeds for three piped prompts' {
        $images = 'a cat', 'a dog', 'a bird' | Invoke-SdGeneration -Pipeline $script:Pipeline -Seed 7 @script:Fast
        $images.Count | Should -Be 3
        $images.Prompt | Should -Be @('a cat', 'a dog', 'a bird')
        $images.Seed | Should -Be @(7, 7, 7)
        $images.Index | Should -Be @(0, 1, 2)
        $images | ForEach-Object { $_.Width | Should -Be 64; $_.Steps | Should -Be 3 }
    }

    It 'binds Prompt, NegativePrompt and Seed by property name (Import-Csv)' {
        $csv = Join-Path $TestDrive 'prompts.csv'
        @(
            [pscustomobject]@{ Prompt = 'a cat'; NegativePrompt = 'blurry'; Seed = 11 }
            [pscustomobject]@{ Prompt = 'a dog'; NegativePrompt = ''; Seed = 12 }
        ) | Export-Csv $csv
        $images = Import-Csv $csv | Invoke-SdGeneration -Pipeline $script:Pipeline @script:Fast
        $images.Seed | Should -Be @(11, 12)
        $images[0].NegativePrompt | Should -Be 'blurry'
    }

    It 'uses one seed per prompt and seed + j for the images of a prompt' {
        $images = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a', 'b' -Seed 100, 200 -ImagesPerPrompt 2 @script:Fast
        $images.Seed | Should -Be @(100, 101, 200, 201)
    }

    It 'regenerates any image of a batch alone from its seed' {
        $batch = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x', 'y', 'z' -Seed 5, 6, 7 -BatchSize 3 @script:Fast
        $alone = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'y' -Seed 6 @script:Fast
        Get-SdPixelDifference $batch[1].Image $alone.Image | Should -BeLessOrEqual 1
    }

    It 'records a random seed when none is given' {
        $image = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a' @script:Fast
        $image.Seed | Should -BeGreaterOrEqual 0
        $again = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a' -Seed $image.Seed @script:Fast
        Get-SdPixelDifference $image.Image $again.Image | Should -Be 0
    }

    It 'takes the pipeline from the PowerShell pipeline' {
        $image = $script:Pipeline | Invoke-SdGeneration -Prompt 'a' -Seed 1 @script:Fast
        $image.Seed | Should -Be 1
    }

    It 'reports step progress' {
        $records = [System.Collections.Generic.List[object]]::new()
        $ps = [PowerShell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$(Get-SdTestModulePath)'; `$p = New-SdPipeline '$script:Model' -ExecutionProvider Cpu; Invoke-SdGeneration -Pipeline `$p -Prompt 'a' -Seed 1 -Steps 3 -Width 64 -Height 64 | Out-Null; `$p.Dispose()")
            $null = $ps.Invoke()
            $ps.Streams.Progress | Where-Object StatusDescription -Match 'Step 3 of' | Should -Not -BeNullOrEmpty
        }
        finally { $ps.Dispose() }
    }
}

Describe 'Get-SdPromptToken' {
    It 'gives the 77 ids of the text encoder' {
        $t = Get-SdPromptToken -Pipeline $script:Pipeline -Prompt 'a photo of a cat'
        $t.Ids.Count | Should -Be 77
        $t.Ids[0..6] | Should -Be @(49406, 320, 1125, 539, 320, 2368, 49407)
        $t.Truncated | Should -BeFalse
    }

    It 'warns about and reports a truncated prompt' {
        $long = ((1..80 | ForEach-Object { 'cat' }) -join ' ') + ' riding a zebra'
        $t = Get-SdPromptToken -Pipeline $script:Pipeline -Prompt $long -WarningVariable w -WarningAction SilentlyContinue
        $t.Truncated | Should -BeTrue
        $w | Should -Not -BeNullOrEmpty
        $t.Count | Should -Be 85   # BOS + 83 tokens + EOS
        "$w" | Should -Match 'cat cat cat riding a zebra'
    }
}

Describe 'Invoke-SdGeneration -Verbose' {
    It 'reports the time of each stage and each step' {
        $ps = [PowerShell]::Create()
        try {
            $null = $ps.AddScript("param(`$p) Import-Module '$(Get-SdTestModulePath)'; Invoke-SdGeneration -Pipeline `$p -Prompt a -Seed 1 -Steps 3 -Width 64 -Height 64 -Verbose | Out-Null").AddArgument($script:Pipeline)
            $null = $ps.Invoke()
            $verbose = $ps.Streams.Verbose.Message
            ($verbose | Where-Object { $_ -match '^Step \d/4 \(t = [\d.]+\): [\d.]+ ms$' }).Count | Should -Be 4   # PNDM: steps + 1 iterations
            $verbose | Where-Object { $_ -match 'tokenize [\d]+ ms, text encoder [\d]+ ms, 4 steps [\d]+ ms .* VAE [\d]+ ms' } | Should -Not -BeNullOrEmpty
        }
        finally { $ps.Dispose() }
    }
}
