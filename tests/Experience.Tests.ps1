BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
    $script:Pipeline = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
    $script:Fast = @{ Steps = 2; Width = 64; Height = 64 }
}

AfterAll {
    if ($script:Pipeline) { $script:Pipeline.Dispose() }
}

Describe 'Save-SdImageGrid' {
    BeforeAll {
        $script:Five = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'grid' -Seed 10 -ImagesPerPrompt 5 @script:Fast
    }

    It 'computes a near-square layout and places images row by row' {
        $png = Join-Path $TestDrive 'grid.png'
        $script:Five | Save-SdImageGrid -Path $png
        $grid = [SixLabors.ImageSharp.Image]::Load[SixLabors.ImageSharp.PixelFormats.Rgb24]($png)
        try {
            $grid.Width | Should -Be (3 * 64)    # 5 images: 3 columns, 2 rows
            $grid.Height | Should -Be (2 * 64)
            # Image 5 (index 4) sits at row 2, column 2.
            $cellImage = $script:Five[4].Image
            $differing = 0
            for ($y = 0; $y -lt 64; $y++) { for ($x = 0; $x -lt 64; $x++) { if ($grid[(64 + $x), (64 + $y)] -ne $cellImage[$x, $y]) { $differing++ } } }
            $differing | Should -Be 0
            $grid[130, 70] | Should -Be ([SixLabors.ImageSharp.PixelFormats.Rgb24]::new(0, 0, 0))   # the empty sixth cell
        }
        finally { $grid.Dispose() }
    }

    It 'computes the missing dimension from the given one' {
        $png = Join-Path $TestDrive 'row.png'
        $script:Five | Save-SdImageGrid -Path $png -Rows 1
        $img = [SixLabors.ImageSharp.Image]::Identify($png)
        $img.Width | Should -Be (5 * 64)
        $img.Height | Should -Be 64
    }

    It 'records every image''s parameters with its position' {
        $png = Join-Path $TestDrive 'meta.png'
        $script:Five | Save-SdImageGrid -Path $png -Columns 5
        $text = [StableDiffusion.Imaging.PngFile]::ReadText($png)
        foreach ($seed in 10..14) { $text['parameters'] | Should -Match "Seed: $seed" }
        $text['parameters'] | Should -Match 'image 5: row 1, column 5'
        $cells = $text['sd-grid'] | ConvertFrom-Json
        $cells.Count | Should -Be 5
        $cells[4].seed | Should -Be 14
    }

    It 'refuses a layout too small for the images' {
        { $script:Five | Save-SdImageGrid -Path (Join-Path $TestDrive 'small.png') -Rows 2 -Columns 2 -ErrorAction Stop } |
            Should -Throw '*2 rows × 2 columns holds 4 images, not 5*'
    }

    It 'centres images of different sizes and warns' {
        $wide = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'wide' -Seed 1 -Steps 2 -Width 128 -Height 64
        $png = Join-Path $TestDrive 'mixed.png'
        @($script:Five[0], $wide) | Save-SdImageGrid -Path $png -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -Match 'different sizes'
        ([SixLabors.ImageSharp.Image]::Identify($png)).Width | Should -Be 256
    }

    It 'writes nothing with -WhatIf' {
        $png = Join-Path $TestDrive 'whatif-grid.png'
        $script:Five | Save-SdImageGrid -Path $png -WhatIf
        Test-Path $png | Should -BeFalse
    }
}

Describe 'Save-SdImage -NameTemplate' {
    BeforeAll {
        $script:Dir = Join-Path $TestDrive 'named'
        $script:Save = {
            param([string] $Prompt, [string] $Template = '{prompt}')
            Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt $Prompt -Seed 3 @script:Fast |
                Save-SdImage -Directory $script:Dir -NameTemplate $Template -PassThru
        }
    }

    It 'keeps a hostile prompt inside the directory: <Name>' -ForEach @(
        @{ Name = 'parent path'; Prompt = '../../../etc/passwd' }
        @{ Name = 'absolute path'; Prompt = '/tmp/evil' }
        @{ Name = 'Windows path'; Prompt = 'C:\Windows\System32\evil' }
        @{ Name = 'reserved characters'; Prompt = 'a:b*c?d<e>f|g"h' }
        @{ Name = 'dots only'; Prompt = '..' }
        @{ Name = 'empty'; Prompt = '' }
        @{ Name = 'device name'; Prompt = 'CON' }
    ) {
        $file = & $script:Save $Prompt
        $file.DirectoryName | Should -Be $script:Dir
        $file.Name | Should -Not -Match '[<>:"/\\|?*]'
        $file.Name | Should -Not -Match '^\.'
        $file.BaseName | Should -Not -BeIn @('CON', 'PRN', 'AUX', 'NUL')
        Test-Path $file.FullName | Should -BeTrue
    }

    It 'shortens a very long prompt' {
        $file = & $script:Save (('word ' * 200).Trim()) '{prompt}'
        $file.BaseName.Length | Should -BeLessOrEqual 48
        $file.BaseName | Should -Match '^word-word'
    }

    It 'keeps Unicode letters' {
        $file = & $script:Save '日本語の猫 café 🐱' '{prompt}'
        $file.BaseName | Should -Be '日本語の猫-café'
    }

    It 'fills every token' {
        $file = & $script:Save 'a red fox' '{index:000}-{seed}-{steps}-{scheduler}-{width}x{height}-{prompt:5}-{date:yyyy}'
        $file.Name | Should -Be ("000-3-2-PNDMScheduler-64x64-a-red-{0}.png" -f (Get-Date).Year)
    }

    It 'picks a free name rather than overwrite, fails with -NoClobber, replaces with -Force' {
        $a = & $script:Save 'same name' 'fixed'
        $b = & $script:Save 'same name' 'fixed'
        $a.Name | Should -Be 'fixed.png'
        $b.Name | Should -Be 'fixed-1.png'
        { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt x -Seed 3 @script:Fast | Save-SdImage -Directory $script:Dir -NameTemplate fixed -NoClobber -ErrorAction Stop } |
            Should -Throw '*already exists*'
        $c = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt x -Seed 3 @script:Fast | Save-SdImage -Directory $script:Dir -NameTemplate fixed -Force -PassThru
        $c.Name | Should -Be 'fixed.png'
    }

    It 'refuses an unknown token and a separator in the template' {
        { & $script:Save 'x' '{nope}' } | Should -Throw "*Unknown token '{nope}'*"
        { & $script:Save 'x' 'sub/{seed}' } | Should -Throw '*path separator*'
    }
}

Describe 'Get-SdImageInfo' {
    It 'round-trips: the regenerated PNG is identical' {
        $x = Join-Path $TestDrive 'x.png'
        $y = Join-Path $TestDrive 'y.png'
        Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a lighthouse, oil painting' -NegativePrompt 'blurry' -Seed 77 -Steps 4 -GuidanceScale 6.5 `
            -Width 64 -Height 64 -Scheduler @{ Name = 'DPMSolverMultistep'; use_karras_sigmas = $true } | Save-SdImage -Path $x
        Get-SdImageInfo $x | Invoke-SdGeneration -Pipeline $script:Pipeline | Save-SdImage -Path $y
        Get-SdPixelDifference $x $y | Should -Be 0
        $info = Get-SdImageInfo $y
        $info.Seed | Should -Be 77
        $info.Steps | Should -Be 4
        $info.GuidanceScale | Should -Be 6.5
        $info.NegativePrompt | Should -Be 'blurry'
        "$($info.Scheduler)" | Should -Match 'DPMSolverMultistepScheduler.*use_karras_sigmas'
        $info.Model | Should -Be 'tiny-sd'
    }

    It 'reads AUTOMATIC1111-style parameters' {
        $png = Join-Path $TestDrive 'a1111.png'
        $img = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Seed 1 @script:Fast
        $text = "a castle on a hill, sunset`nNegative prompt: blurry, lowres`nSteps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 512x768, Model hash: abc123, Model: sd15"
        [StableDiffusion.Imaging.PngFile]::Save($img.Image, $png, $text, $false)
        $info = Get-SdImageInfo -LiteralPath $png
        $info.Prompt | Should -Be 'a castle on a hill, sunset'
        $info.NegativePrompt | Should -Be 'blurry, lowres'
        $info.Steps | Should -Be 25
        $info.Seed | Should -Be 1234
        $info.GuidanceScale | Should -Be 7
        $info.Width | Should -Be 512
        $info.Height | Should -Be 768
        "$($info.Scheduler)" | Should -Be 'DPM++ 2M Karras'
        (Get-SdScheduler -Name $info.Scheduler.Name).Name | Should -Be 'DPMSolverMultistepScheduler'
    }

    It 'takes files from Get-ChildItem and reports unreadable ones' {
        $dir = Join-Path $TestDrive 'info'
        Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a', 'b' -Seed 5 @script:Fast | Save-SdImage -Directory $dir
        Set-Content (Join-Path $dir 'junk.png') 'not a png'
        $errors = [System.Collections.Generic.List[object]]::new()
        $infos = @(Get-ChildItem $dir -Filter *.png | Get-SdImageInfo 2>&1 | ForEach-Object { if ($_ -is [System.Management.Automation.ErrorRecord]) { $errors.Add($_) } else { $_ } })
        $infos.Prompt | Sort-Object | Should -Be @('a', 'b')
        $errors.Count | Should -Be 1
        $errors[0].TargetObject | Should -Match 'junk.png'
    }
}

Describe 'Set-SdVae' {
    It 'swaps the VAE, records it, and chains' {
        $p = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
        try {
            $before = Invoke-SdGeneration -Pipeline $p -Prompt 'vae' -Seed 4 @script:Fast
            $out = $p | Set-SdVae (Get-SdFixturePath 'tiny-sd-fp16io')
            $out | Should -Be $p
            $p.Vae | Should -Be (Get-SdFixturePath 'tiny-sd-fp16io')
            $after = Invoke-SdGeneration -Pipeline $p -Prompt 'vae' -Seed 4 @script:Fast
            $after.Parameters.ToText() | Should -Match 'VAE: tiny-sd-fp16io'
            Get-SdPixelDifference $before.Image $after.Image | Should -BeLessOrEqual 1   # same weights, float16 interface
        }
        finally { $p.Dispose() }
    }

    It 'leaves the pipeline unchanged when the folder has no VAE' {
        $p = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
        try {
            { $p | Set-SdVae $TestDrive -ErrorAction Stop } | Should -Throw '*holds no VAE decoder*'
            $p.Vae | Should -BeNullOrEmpty
            (Invoke-SdGeneration -Pipeline $p -Prompt 'ok' -Seed 1 @script:Fast).Width | Should -Be 64
        }
        finally { $p.Dispose() }
    }

    It 'is offered at load time by New-SdPipeline -VaePath' {
        $p = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu -VaePath (Join-Path (Get-SdFixturePath) 'vae_decoder')
        try { $p.Vae | Should -Match 'vae_decoder' } finally { $p.Dispose() }
    }
}

Describe 'Help' {
    # The command list is read at discovery, so the module must be imported then (BeforeAll runs later): without it
    # the list was empty and these tests ran for no command at all.
    BeforeDiscovery {
        Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
        Import-Module (Get-SdTestModulePath) -Force
        $helpCommands = @((Get-Command -Module StableDiffusion -CommandType Cmdlet).Name)
        if ($helpCommands.Count -lt 20) { throw "Only $($helpCommands.Count) StableDiffusion cmdlets were found for the help tests." }
    }

    It '<_> has a synopsis, a description, at least two examples and every parameter described' -ForEach $helpCommands {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$_\s"     # not the auto-generated syntax line
        ($help.description | Out-String).Trim() | Should -Not -BeNullOrEmpty
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($name in (Get-Command $_).Parameters.Keys | Where-Object { $_ -notin $common }) {
            $p = $help.parameters.parameter | Where-Object name -EQ $name
            ($p.description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$name of $_ must be described"
        }
    }

    It 'has an about_StableDiffusion topic' {
        (Get-Help about_StableDiffusion | Out-String) | Should -Match 'SEEDS AND REPRODUCIBILITY'
    }
}

Describe 'Default views' {
    It 'shows a pipeline as a table with model, provider, precision and scheduler' {
        $text = $script:Pipeline | Out-String
        $text | Should -Match 'Model\s+Provider\s+Precision\s+Scheduler'
        $text | Should -Match 'tiny-sd\s+Cpu\s+float32\s+PNDMScheduler'
    }

    It 'shows an image as a table with seed, steps, scheduler, size and prompt' {
        $text = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'view' -Seed 8 @script:Fast | Out-String
        $text | Should -Match 'Seed\s+Steps\s+Scheduler\s+Size'
        $text | Should -Match '8\s+2\s+PNDMScheduler\s+64x64'
    }
}
