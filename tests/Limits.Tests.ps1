# Numbers, seeds, texts and sizes at and past their limits: each a specific error before any image is generated.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
    $script:Pipeline = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
    $script:Fast = @{ Steps = 2; Width = 64; Height = 64 }
    $script:MaxSeed = [long]::MaxValue

    function New-JsonJob([string] $Folder, [string] $PromptsJson, [string] $Defaults = '"Seeds": 1, "Steps": 2, "Width": 64, "Height": 64') {
        New-Item -ItemType Directory -Force $Folder | Out-Null
        $path = Join-Path $Folder 'job.json'
        $model = $script:Model | ConvertTo-Json
        Set-Content -LiteralPath $path -Value "{`n  `"Model`": $model,`n  `"Provider`": `"Cpu`",`n  `"Defaults`": { $Defaults },`n  `"Prompts`": $PromptsJson,`n  `"OutputDirectory`": `"out`"`n}"
        $path
    }
}

AfterAll {
    if ($script:Pipeline) { $script:Pipeline.Dispose() }
}

Describe 'Seeds: 0 to 2^63-1, no arithmetic wraps' {
    It 'refuses -Seed [long]::MaxValue with two images per prompt, naming the seed and the largest that fits' {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Seed $script:MaxSeed -ImagesPerPrompt 2 @script:Fast }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'SeedOutOfRange,*'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $r.Error.TargetObject | Should -Be $script:MaxSeed
        $r.Error.Exception.Message | Should -Match 'at most 9223372036854775806'
        $r.Output | Should -BeNullOrEmpty
    }

    It 'renders up to the largest seed, and the PNG records it so that it can be regenerated' {
        $out = Join-Path $TestDrive 'maxseed'
        $images = @(Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Seed ($script:MaxSeed - 1) -ImagesPerPrompt 2 @script:Fast)
        $images.Seed | Should -Be @(9223372036854775806, 9223372036854775807)
        $file = $images[1] | Save-SdImage -Directory $out -PassThru
        (Get-SdImageInfo -Path $file.FullName).Seed | Should -Be 9223372036854775807
    }

    It 'refuses a negative seed as SeedOutOfRange' {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Seed -1 @script:Fast }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'SeedOutOfRange,*'
        $r.Error.TargetObject | Should -Be -1
    }

    It 'validates a job whose seed range ends at 2^63-1 at once, with -WhatIf' {
        $job = New-JsonJob (Join-Path $TestDrive 'range') '[ { "Prompt": "a fox", "Seeds": "9223372036854775806-9223372036854775807" } ]'
        $watch = [Diagnostics.Stopwatch]::StartNew()
        Invoke-SdRenderJob -Path $job -WhatIf -WarningAction SilentlyContinue
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 20
        Test-Path (Join-Path $TestDrive 'range' 'out' '*.png') | Should -BeFalse
    }

    It 'reports a job seed range past 2^63-1 together with images per prompt as a job problem' {
        $job = New-JsonJob (Join-Path $TestDrive 'pastmax') '[ { "Prompt": "a fox", "Seeds": "9223372036854775806-9223372036854775807", "ImagesPerPrompt": 2 } ]'
        $r = Get-SdError { Invoke-SdRenderJob -Path $job }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'InvalidJobFile,*'
        $r.Error.Exception.Message | Should -Match 'Prompts\[0\] \(line 5\): Seed 9223372036854775807 with 2 images per prompt'
    }
}

Describe 'Counts: steps and images per prompt' {
    It 'refuses -Steps 1000 with <_>, naming the largest step count that works' -ForEach 'PNDM', 'DDIM' {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Seed 1 -Scheduler $_ -Steps 1000 -Width 64 -Height 64 }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'StepsOutOfRange,*'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $r.Error.TargetObject | Should -Be 1000
        $r.Error.Exception.Message | Should -Match 'at most 999 steps'
        $r.Output | Should -BeNullOrEmpty
    }

    It 'refuses more steps than training timesteps with any scheduler' {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Seed 1 -Scheduler 'Euler' -Steps 5000 -Width 64 -Height 64 }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'StepsOutOfRange,*'
        $r.Error.Exception.Message | Should -Match 'Steps must be 1 to 1000'
    }

    It 'refuses -ImagesPerPrompt <_> at once, without allocating' -ForEach ([int]::MaxValue), 10001, 0 {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Seed 1 -ImagesPerPrompt $_ @script:Fast }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'ImagesPerPromptOutOfRange,*'
        $r.Error.TargetObject | Should -Be $_
        $r.Error.Exception.Message | Should -Match '1 to 10000'
    }
}

Describe 'Floats: finite and in range' {
    It 'refuses -GuidanceScale <_>' -ForEach 3.4e38, 1e300, 101, -1 {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Seed 1 -GuidanceScale $_ @script:Fast }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'GuidanceScaleOutOfRange,*'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $r.Error.Exception.Message | Should -Match 'from 0 to 100'
        $r.Output | Should -BeNullOrEmpty
    }

    It 'refuses -Eta <_>' -ForEach 1.5, -0.5 {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Seed 1 -Eta $_ -Scheduler DDIM @script:Fast }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'EtaOutOfRange,*'
    }
}

Describe 'Batch size and aesthetic scores' {
    It 'refuses -BatchSize <_> before any prompt' -ForEach 100000, 0 {
        { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Seed 1 -BatchSize $_ @script:Fast -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidBatchSize,*' -ExpectedMessage '*BatchSize must be 1 to 64*'
    }

    It 'refuses -AestheticScore 1e9' {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Seed 1 -AestheticScore 1e9 @script:Fast }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'AestheticScoreOutOfRange,*'
        $r.Error.TargetObject | Should -Be 1e9
    }
}

Describe 'Text a PNG cannot record is refused before rendering' {
    It 'refuses a prompt with a <Name>' -ForEach @(
        @{ Name = 'NUL'; Text = "a`0cat"; Pattern = 'NUL character' }
        @{ Name = 'lone high surrogate'; Text = "a $([char]0xD800) cat"; Pattern = 'unpaired surrogate \(U\+D800\)' }
        @{ Name = 'lone low surrogate'; Text = "cat $([char]0xDC00)"; Pattern = 'U\+DC00' }
    ) {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt $Text -Seed 1 @script:Fast }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'UnsavableText,*'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $r.Error.TargetObject | Should -BeExactly $Text
        $r.Error.Exception.Message | Should -Match $Pattern
        $r.Output | Should -BeNullOrEmpty
    }

    It 'refuses a piped CSV row whose negative prompt holds a NUL, and renders the other rows' {
        $rows = "Prompt,NegativePrompt,Seed`ngood,blurry,1`nbad,`"dark`0`",2" | ConvertFrom-Csv
        $errors = $null
        $images = @($rows | Invoke-SdGeneration -Pipeline $script:Pipeline @script:Fast -ErrorVariable errors -ErrorAction SilentlyContinue)
        $images.Prompt | Should -Be 'good'
        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'UnsavableText,*'
        $errors[0].Exception.Message | Should -Match '^NegativePrompt holds a NUL'
    }

    It 'reports a JSON job with an escaped lone surrogate as a job problem at its line' {
        $job = New-JsonJob (Join-Path $TestDrive 'surrogate') '[ "a \ud800 fox" ]'
        $r = Get-SdError { Invoke-SdRenderJob -Path $job }
        $r.Error.FullyQualifiedErrorId | Should -BeLike 'InvalidJobFile,*'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidData'
        $r.Error.Exception.Message | Should -Match 'Prompts\[0\] \(line 5\).*unpaired surrogate'
        $r.Error.Exception | Should -Not -BeOfType [System.InvalidOperationException]
    }
}

Describe 'Names and grids' {
    BeforeAll {
        $script:Image = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Seed 3 @script:Fast
    }

    It 'refuses the name template <_> when the cmdlet starts, naming it' -ForEach '{date:%%%}', '{prompt:abc}' {
        $template = $_
        $out = Join-Path $TestDrive 'names'
        { $script:Image | Save-SdImage -Directory $out -NameTemplate $template -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidNameTemplate,*' -ExpectedMessage "*'$template'*"
        Test-Path $out | Should -BeFalse
    }

    It 'refuses -Rows 100000 for a few images instead of writing a 64x6,400,000 PNG' {
        $png = Join-Path $TestDrive 'tall.png'
        { @($script:Image) * 4 | Save-SdImageGrid -Path $png -Rows 100000 -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidGridLayout,*' -ExpectedMessage '*need 4 rows*'
        Test-Path $png | Should -BeFalse
    }

    It 'refuses a grid wider than 65535 pixels before composing it' {
        $png = Join-Path $TestDrive 'wide.png'
        $wide = @($script:Image) * 1025   # 1025 × 64 px = 65600 px in one row
        $err = { $wide | Save-SdImageGrid -Path $png -Rows 1 } | Should -Throw -ErrorId 'GridTooLarge,*' -PassThru
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.TargetObject | Should -Be '65600x64'
        $err.Exception.Message | Should -BeLike 'A grid of 1 row × 1025 columns of 64×64 images would be 65600×64 pixels; a grid may be at most 65535 pixels a side*Give fewer rows or columns*'
        Test-Path $png | Should -BeFalse
    }
}
