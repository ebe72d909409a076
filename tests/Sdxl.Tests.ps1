# SDXL through the cmdlets (tiny-sdxl, tiny-sdxl-refiner): parity with diffusers 0.35.2 on the fixture cases, the base →
# refiner hand-off through the pipeline (-OutputType Latent | -DenoisingStart), binding of the SDXL parameters by property
# name (CSV rows, Get-SdImageInfo round trips), their errors, and the SDXL default guidance.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Base = New-SdPipeline -Path (Get-SdFixturePath 'tiny-sdxl') -ExecutionProvider Cpu
    $script:Refiner = New-SdPipeline -Path (Get-SdFixturePath 'tiny-sdxl-refiner') -ExecutionProvider Cpu
    $script:Fast = @{ Steps = 2; Seed = 1 }

    # The manifest holds a bare -Infinity (Python's json.dump): quoted before parsing, as PipelineCase.QuoteNonFinite does.
    function Get-SdManifest([string] $Model) {
        $folder = Join-Path (Get-SdFixturePath $Model) 'expected' 'pipeline-diffusers-0.35'
        $text = Get-Content (Join-Path $folder 'manifest.json') -Raw
        $text = [regex]::Replace($text, '(?<=[:\[,]\s*)(-?Infinity|NaN)(?=\s*[,\]\}])', '"$1"')
        [pscustomobject]@{ Folder = $folder; Cases = ($text | ConvertFrom-Json -AsHashtable).cases }
    }
    $script:BaseCases = Get-SdManifest 'tiny-sdxl'
    $script:RefinerCases = Get-SdManifest 'tiny-sdxl-refiner'

    function Get-SdCase($Manifest, [string] $Id) {
        $case = $Manifest.Cases | Where-Object { $_.id -eq $Id }
        if (-not $case) { throw "No case $Id in $($Manifest.Folder)/manifest.json." }
        $case
    }

    # A case's pipeline arguments as Invoke-SdGeneration parameters.
    function ConvertTo-SdParameters($Stage, [string] $Folder) {
        $a = $Stage.args
        $p = @{ Prompt = $a.prompt; Seed = $Stage.seed; Steps = $a.num_inference_steps }
        $scheduler = @{ Name = $Stage.scheduler.class }
        foreach ($k in $Stage.scheduler.from_config_overrides.Keys) { $scheduler[$k] = $Stage.scheduler.from_config_overrides[$k] }
        $p.Scheduler = $scheduler
        $map = @{
            guidance_scale = 'GuidanceScale'; guidance_rescale = 'GuidanceRescale'; negative_prompt = 'NegativePrompt'; prompt_2 = 'Prompt2'; negative_prompt_2 = 'NegativePrompt2'
            clip_skip = 'ClipSkip'; original_size = 'OriginalSize'; crops_coords_top_left = 'CropTopLeft'; target_size = 'TargetSize'
            negative_original_size = 'NegativeOriginalSize'; negative_crops_coords_top_left = 'NegativeCropTopLeft'
            negative_target_size = 'NegativeTargetSize'; aesthetic_score = 'AestheticScore'; negative_aesthetic_score = 'NegativeAestheticScore'
            denoising_start = 'DenoisingStart'; denoising_end = 'DenoisingEnd'; strength = 'Strength'; width = 'Width'; height = 'Height'
        }
        foreach ($k in $map.Keys) { if ($a.ContainsKey($k)) { $p[$map[$k]] = $a[$k] } }
        if ($Stage.init_image) { $p.InitImage = Join-Path $Folder $Stage.init_image.file }
        $p
    }

    function Invoke-SdCollect([scriptblock] $Command) {
        $ErrorActionPreference = 'Continue'
        $errors = [System.Collections.Generic.List[object]]::new()
        $out = @(& $Command 2>&1 | ForEach-Object { if ($_ -is [System.Management.Automation.ErrorRecord]) { $errors.Add($_) } else { $_ } })
        [pscustomobject]@{ Errors = $errors; Output = $out }
    }
}

AfterAll {
    if ($script:Base) { $script:Base.Dispose() }
    if ($script:Refiner) { $script:Refiner.Dispose() }
}

BeforeDiscovery {
    # Every case of both manifests runs through the cmdlets; ids only are needed here (the manifest's bare -Infinity
    # sits in a scheduler config, not in an id).
    $fixtures = Join-Path $PSScriptRoot '..' '..' 'shared' 'fixtures'
    $ids = { param($model) [regex]::Matches((Get-Content (Join-Path $fixtures $model 'expected' 'pipeline-diffusers-0.35' 'manifest.json') -Raw),
        '(?m)^ {3}"id": "([^"]+)"') | ForEach-Object { @{ Id = $_.Groups[1].Value; Model = $model } } }
    $script:SdxlCases = @(& $ids 'tiny-sdxl') + @(& $ids 'tiny-sdxl-refiner' | Where-Object Id -ne 'ensemble_base_refiner_08')
}

Describe 'SDXL parity with diffusers 0.35.2 through Invoke-SdGeneration' {
    # A case's images form one batch, as diffusers' call does (the time ids of size conditioning interleave within it).
    It 'matches <Model> <Id> within 1 level' -ForEach $script:SdxlCases {
        $manifest = if ($Model -eq 'tiny-sdxl') { $script:BaseCases } else { $script:RefinerCases }
        $pipeline = if ($Model -eq 'tiny-sdxl') { $script:Base } else { $script:Refiner }
        $case = Get-SdCase $manifest $Id
        $p = ConvertTo-SdParameters $case $manifest.Folder
        $p.BatchSize = @($case.args.prompt).Count
        $images = @(Invoke-SdGeneration -Pipeline $pipeline @p)
        $images.Count | Should -Be @($case.png).Count
        for ($i = 0; $i -lt $images.Count; $i++) {
            $png = Join-Path $TestDrive "$Id-$i.png"
            $images[$i] | Save-SdImage -Path $png
            Get-SdPixelDifference (Join-Path $manifest.Folder $case.png[$i].file) $png | Should -BeLessOrEqual 1 -Because "image $i"
        }
    }

    It 'runs the base → refiner ensemble (ensemble_base_refiner_08) through the PowerShell pipeline' {
        $case = Get-SdCase $script:RefinerCases 'ensemble_base_refiner_08'
        $baseStage, $refinerStage = $case.stages
        $p = ConvertTo-SdParameters $baseStage $script:RefinerCases.Folder
        $p.Remove('Scheduler')
        $latents = Invoke-SdGeneration -Pipeline $script:Base @p -OutputType Latent
        $latents | Should -HaveCount 1
        $latents[0].GetType().Name | Should -Be 'SdLatents'
        $latents[0].DenoisingEnd | Should -Be 0.8
        $latents[0].InitLatents.Channels | Should -Be 4
        $png = Join-Path $TestDrive 'ensemble.png'
        $image = $latents | Invoke-SdGeneration -Pipeline $script:Refiner -DenoisingStart $refinerStage.args.denoising_start
        $image.Model | Should -Be 'tiny-sdxl-refiner' -Because 'the -Pipeline given on the refiner call wins'
        $image.Seed | Should -Be 41 -Because 'the seed binds from the latents'
        $image.Parameters.DenoisingStart | Should -Be 0.8
        $image.Parameters.DenoisingEnd | Should -BeNullOrEmpty -Because 'the base''s DenoisingEnd is not applied to the refiner'
        $image | Save-SdImage -Path $png
        Get-SdPixelDifference (Join-Path $script:RefinerCases.Folder $refinerStage.png[0].file) $png | Should -BeLessOrEqual 1
    }

    It 'hands several latents over one by one, each with its own prompt and seed, and shows them as a table' {
        $latents = Invoke-SdGeneration -Pipeline $script:Base -Prompt 'a lion', 'a fox' -Seed 5, 6 -Steps 5 -DenoisingEnd 0.6 -OutputType Latent
        $latents | Should -HaveCount 2
        ($latents | Out-String -Width 200) | Should -Match 'tiny-sdxl\s+64x64\s+4x8x8\s+a lion'
        $images = $latents | Invoke-SdGeneration -Pipeline $script:Refiner -DenoisingStart 0.6 -Verbose 4>&1 |
            Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] -or $_.Message -match 'DenoisingEnd' }
        @($images | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) | Should -HaveCount 2 -Because 'the base''s DenoisingEnd is not applied, and it says so'
        $images = @($images | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $images.Prompt | Should -Be @('a lion', 'a fox')
        $images.Seed | Should -Be @(5, 6)
        $images.Steps | Should -Be @(5, 5)
    }
}

Describe 'SDXL defaults and pipeline object' {
    It 'shows the family and the default guidance' {
        $script:Base.Family | Should -Be 'StableDiffusionXL'
        $script:Base.DefaultGuidanceScale | Should -Be 5
        ($script:Base | Format-Table | Out-String -Width 200) | Should -Match 'EulerDiscreteScheduler\s+SDXL\s+5\s'
        ($script:Base | Format-List | Out-String) | Should -Match 'Family\s+: StableDiffusionXL'
    }

    It 'uses SDXL''s guidance 5 when none is given, and records it' {
        $png = Join-Path $TestDrive 'default-guidance.png'
        $image = Invoke-SdGeneration -Pipeline $script:Base -Prompt 'a fox' @script:Fast
        $image.GuidanceScale | Should -Be 5
        $image | Save-SdImage -Path $png
        [StableDiffusion.Imaging.PngFile]::ReadText($png)['parameters'] | Should -Match 'CFG scale: 5,'
        (Get-SdImageInfo $png).GuidanceScale | Should -Be 5
    }

    It 'lets an explicit or a bound guidance win over the default' {
        (Invoke-SdGeneration -Pipeline $script:Base -Prompt 'a fox' -GuidanceScale 3 @script:Fast).GuidanceScale | Should -Be 3
        ([pscustomobject]@{ Prompt = 'a fox'; GuidanceScale = '2.5' } | Invoke-SdGeneration -Pipeline $script:Base @script:Fast).GuidanceScale | Should -Be 2.5
    }

    It 'shows both tokenizers on an SDXL base' {
        $t = Get-SdPromptToken -Pipeline $script:Base -Prompt 'a photo of a cat'
        $t.Ids[-1] | Should -Be 49407
        $t.Ids2[-1] | Should -Be 0 -Because 'tokenizer_2 pads with "!" (id 0)'
        $t.Ids2[0..6] | Should -Be $t.Ids[0..6]
    }
}

Describe 'SDXL parameters bound by property name and recorded in the PNG' {
    It 'binds Prompt2 and OriginalSize columns of a CSV file' {
        $csv = Join-Path $TestDrive 'sdxl.csv'
        @(
            [pscustomobject]@{ Prompt = 'a lighthouse'; Prompt2 = 'stormy sky'; OriginalSize = '1024,1024'; CropTopLeft = ''; Seed = 3 }
            [pscustomobject]@{ Prompt = 'a lighthouse'; Prompt2 = ''; OriginalSize = ''; CropTopLeft = '(16, 32)'; Seed = 3 }
        ) | Export-Csv $csv
        $images = Import-Csv $csv | Invoke-SdGeneration -Pipeline $script:Base -Steps 2
        $images | Should -HaveCount 2
        $images[0].Prompt2 | Should -Be 'stormy sky'
        $images[0].OriginalSize.Height | Should -Be 1024
        $images[0].CropTopLeft | Should -BeNullOrEmpty
        $images[1].Prompt2 | Should -BeNullOrEmpty
        $images[1].CropTopLeft.Left | Should -Be 32
        $direct = Invoke-SdGeneration -Pipeline $script:Base -Prompt 'a lighthouse' -Prompt2 'stormy sky' -OriginalSize 1024, 1024 -Seed 3 -Steps 2
        Get-SdPixelDifference $direct.Image $images[0].Image | Should -Be 0
    }

    It 'writes the SDXL settings in both PNG forms and Get-SdImageInfo regenerates the image exactly' {
        $png = Join-Path $TestDrive 'round.png'
        Invoke-SdGeneration -Pipeline $script:Base -Prompt 'a mountain lake' -NegativePrompt 'fog' -Prompt2 'at dawn' -NegativePrompt2 'people' `
            -ClipSkip 1 -OriginalSize 1024, 1024 -CropTopLeft 16, 32 -TargetSize '512,512' -NegativeOriginalSize 256, 256 `
            -NegativeTargetSize 1024, 1024 -NegativeCropTopLeft 0, 0 -Seed 6 -Steps 3 | Save-SdImage -Path $png
        $text = [StableDiffusion.Imaging.PngFile]::ReadText($png)
        $text['parameters'] | Should -Match 'Clip skip: 2'
        $text['parameters'] | Should -Match 'Original size: "\(1024, 1024\)"'
        $text['sd-parameters'] | Should -Match '"crops_coords_top_left":\[16,32\]'
        $text['sd-parameters'] | Should -Match '"prompt_2":"at dawn"'
        $info = Get-SdImageInfo $png
        $info.ClipSkip | Should -Be 1
        $info.Prompt2 | Should -Be 'at dawn'
        $info.NegativePrompt2 | Should -Be 'people'
        $info.TargetSize.Width | Should -Be 512
        $again = Join-Path $TestDrive 'again.png'
        $info | Invoke-SdGeneration -Pipeline $script:Base | Save-SdImage -Path $again
        Get-SdPixelDifference $png $again | Should -Be 0
        $text['sd-parameters'] | Should -Be ([StableDiffusion.Imaging.PngFile]::ReadText($again)['sd-parameters'])
    }

    It 'reads A1111''s "Clip skip" from the text form alone' {
        $p = [StableDiffusion.Imaging.GenerationParameters]::FromText("a cat`nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 64x64, Clip skip: 2")
        $p.Conditioning.ClipSkip | Should -Be 1
    }
}

Describe 'SDXL parameter errors' {
    It 'refuses a size pair that is not two numbers, naming the parameter and value' -ForEach @(
        @{ Value = '1024x1024' }, @{ Value = @(1024, 1024, 3) }, @{ Value = 'big' }
    ) {
        # On the command line a value that does not bind stops the command (PowerShell's binding error, naming the parameter).
        $e = { Invoke-SdGeneration -Pipeline $script:Base -Prompt 'a fox' -OriginalSize $Value @script:Fast } |
            Should -Throw -ErrorId 'ParameterArgumentTransformationError*' -PassThru
        $e.Exception.Message | Should -Match 'OriginalSize'
        $e.Exception.Message | Should -Match 'height, width'
        $e.CategoryInfo.Category | Should -Be 'InvalidData' -Because 'PowerShell files transformation errors so'
    }

    It 'reports a bad CSV cell for its row only' {
        $rows = @(
            [pscustomobject]@{ Prompt = 'one'; TargetSize = '64,64' }
            [pscustomobject]@{ Prompt = 'two'; TargetSize = '64 by 64' }
        )
        $r = Invoke-SdCollect { $rows | Invoke-SdGeneration -Pipeline $script:Base @script:Fast }
        $r.Output | Should -HaveCount 1
        $r.Errors | Should -HaveCount 1
        $r.Errors[0].Exception.Message | Should -Match "TargetSize"
        $r.Errors[0].Exception.Message | Should -Match "64 by 64"
    }

    It 'runs DenoisingStart on a text-to-image base as the library does (diffusers runs it too)' {
        $image = Invoke-SdGeneration -Pipeline $script:Base -Prompt 'a fox' -DenoisingStart 0.5 -Steps 4 -Seed 1
        $image | Should -HaveCount 1
        $image.Parameters.DenoisingStart | Should -Be 0.5
    }

    It 'reports the refiner without an image or latents as InvalidGenerationArgument' {
        $r = Invoke-SdCollect { Invoke-SdGeneration -Pipeline $script:Refiner -Prompt 'a cat' @script:Fast }
        $r.Output | Should -HaveCount 0
        $r.Errors | Should -HaveCount 1
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidGenerationArgument*'
        $r.Errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $r.Errors[0].TargetObject | Should -Not -BeNullOrEmpty
    }

    It 'refuses a DenoisingStart outside 0..1 as InvalidGenerationArgument' {
        $r = Invoke-SdCollect { Invoke-SdGeneration -Pipeline $script:Base -Prompt 'a fox' -DenoisingStart 1.5 @script:Fast }
        $r.Errors | Should -HaveCount 1
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidGenerationArgument*'
        $r.Errors[0].Exception.Message | Should -Match 'DenoisingStart'
    }
}

Describe 'Render jobs on an SDXL model' {
    It 'renders the pixels Invoke-SdGeneration gives, with SDXL keys, the SDXL default guidance and a resumable identity' {
        $folder = Join-Path $TestDrive 'job'
        New-Item -ItemType Directory $folder | Out-Null
        $csv = Join-Path $folder 'prompts.csv'
        "Prompt,Prompt2,OriginalSize,CropTopLeft,ClipSkip`n""a lighthouse"",""stormy sky"",""1024,1024"",,`n""a fox"",,,""16,32"",1" | Set-Content $csv
        $job = Join-Path $folder 'job.psd1'
        @"
@{
    Model = '$(Get-SdFixturePath 'tiny-sdxl')'
    Provider = 'Cpu'
    Defaults = @{ Steps = 3; Seeds = 7; TargetSize = @(512, 512); NegativePrompt2 = 'people' }
    Prompts = @(@{ Prompt = 'a mountain lake'; NegativeOriginalSize = @(256, 256); AestheticScore = 6.5 })
    PromptFile = 'prompts.csv'
    OutputDirectory = 'out'
    NameTemplate = '{index}-{seed}'
}
"@ | Set-Content $job
        $summary = Invoke-SdRenderJob -Path $job -InformationAction SilentlyContinue
        $summary.Rendered | Should -Be 3
        $summary.Failed | Should -Be 0
        $png = Join-Path $folder 'out' '0-7.png'
        $info = Get-SdImageInfo $png
        $info.GuidanceScale | Should -Be 5
        $info.TargetSize.Height | Should -Be 512
        $info.NegativeOriginalSize.Width | Should -Be 256
        $info.NegativePrompt2 | Should -Be 'people'
        (Get-SdImageInfo (Join-Path $folder 'out' '1-7.png')).Prompt2 | Should -Be 'stormy sky'
        (Get-SdImageInfo (Join-Path $folder 'out' '2-7.png')).ClipSkip | Should -Be 1
        $direct = Invoke-SdGeneration -Pipeline $script:Base -Prompt 'a mountain lake' -Seed 7 -Steps 3 -TargetSize 512, 512 `
            -NegativePrompt2 'people' -NegativeOriginalSize 256, 256 -AestheticScore 6.5
        Get-SdPixelDifference $direct.Image $png | Should -Be 0
        $fox = Invoke-SdGeneration -Pipeline $script:Base -Prompt 'a fox' -Seed 7 -Steps 3 -TargetSize 512, 512 -NegativePrompt2 'people' -CropTopLeft 16, 32 -ClipSkip 1
        Get-SdPixelDifference $fox.Image (Join-Path $folder 'out' '2-7.png') | Should -Be 0
        (Invoke-SdRenderJob -Path $job -InformationAction SilentlyContinue).Skipped | Should -Be 3 -Because 'a rerun verifies the SDXL images by their identity'
    }

    It 'reports a bad SDXL key value with its key path' {
        $folder = Join-Path $TestDrive 'badjob'
        New-Item -ItemType Directory $folder | Out-Null
        $job = Join-Path $folder 'job.psd1'
        @"
@{
    Model = '$(Get-SdFixturePath 'tiny-sdxl')'
    Defaults = @{ Seeds = 1; OriginalSize = '1024x1024' }
    Prompts = @(@{ Prompt = 'a fox'; CropTopLeft = @(1, 2, 3); ClipSkip = -1 })
    OutputDirectory = 'out'
}
"@ | Set-Content $job
        $e = { Invoke-SdRenderJob -Path $job -ErrorAction Stop } | Should -Throw -PassThru
        $text = ($e.Exception.Problems | ForEach-Object { $_.ToString() }) -join "`n"
        $text | Should -Match 'Defaults.OriginalSize'
        $text | Should -Match 'CropTopLeft'
        $text | Should -Match 'ClipSkip'
    }
}
