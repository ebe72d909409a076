# Image to image and inpainting through the cmdlets: binding of -InitImage/-Mask/-Strength/-MaskCropPadding, the
# errors of bad input (one per record, the others still render), PNG metadata round trips, and parity with
# diffusers 0.35.2 on the fixture cases (these need the pipeline's image-task support).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Pipeline = New-SdPipeline -Path (Get-SdFixturePath) -ExecutionProvider Cpu
    # 64×64: the inputs' size, given explicitly so that these tests stay fast whatever the default size is.
    $script:Fast = @{ Steps = 2; Seed = 1; Width = 64; Height = 64 }

    $img2img = Get-SdExpectedPath 'img2img-diffusers-0.35'
    $inpaint = Get-SdExpectedPath 'inpaint-diffusers-0.35'
    $script:Inputs = Join-Path $TestDrive 'inputs'
    New-Item -ItemType Directory $script:Inputs | Out-Null
    Copy-Item (Join-Path $img2img 'inputs' 'img_64x64.png') (Join-Path $script:Inputs 'photo.png')
    Copy-Item (Join-Path $img2img 'inputs' 'img_96x64.png') (Join-Path $script:Inputs 'wide.png')
    Copy-Item (Join-Path $inpaint 'inputs' 'mask_rect_64x64_L.png') (Join-Path $script:Inputs 'mask.png')
    Set-Content (Join-Path $script:Inputs 'notes.png') 'this is text, not an image'
    $script:Photo = Join-Path $script:Inputs 'photo.png'
    $script:Mask = Join-Path $script:Inputs 'mask.png'
    $script:Wide = Join-Path $script:Inputs 'wide.png'

    # Output objects and error records of a command, whatever the caller's error preference.
    function Invoke-SdCollect([scriptblock] $Command) {
        $ErrorActionPreference = 'Continue'
        $errors = [System.Collections.Generic.List[object]]::new()
        $out = @(& $Command 2>&1 | ForEach-Object { if ($_ -is [System.Management.Automation.ErrorRecord]) { $errors.Add($_) } else { $_ } })
        [pscustomobject]@{ Errors = $errors; Output = $out }
    }

    # Runs a command expected to fail once and returns that error record (and what it wrote).
    function Get-SdError([scriptblock] $Command) {
        $r = Invoke-SdCollect $Command
        $r.Errors.Count | Should -Be 1 -Because 'exactly one error is expected'
        [pscustomobject]@{ Error = $r.Errors[0]; Output = $r.Output }
    }

    function Get-SdCase([string] $Folder, [string] $Id) {
        $manifest = Get-Content (Join-Path $Folder 'manifest.json') -Raw | ConvertFrom-Json -AsHashtable
        $case = $manifest.cases | Where-Object { $_.id -eq $Id }
        if (-not $case) { throw "No case $Id in $Folder/manifest.json." }
        $case
    }

    # The scheduler of a case for -Scheduler: its class with its from_config overrides.
    function Get-SdCaseScheduler($Case) {
        $table = @{ Name = $Case.scheduler.class }
        foreach ($k in $Case.scheduler.from_config_overrides.Keys) { $table[$k] = $Case.scheduler.from_config_overrides[$k] }
        $table
    }
}

AfterAll {
    if ($script:Pipeline) { $script:Pipeline.Dispose() }
}

Describe 'Invoke-SdGeneration -InitImage/-Mask binding' {
    It 'resolves a relative path against the current location' {
        Push-Location $script:Inputs
        try { $image = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a cat' -InitImage 'photo.png' -Strength 0.5 @script:Fast }
        finally { Pop-Location }
        $image.InitImage.FileName | Should -Be $script:Photo
        $image.InitImage.Sha256 | Should -Be ([StableDiffusion.Imaging.SourceImageReader]::Load($script:Photo).Sha256)
        $image.Strength | Should -Be 0.5
        $image.Parameters.InitImage.FileName | Should -Be 'photo.png'   # the name only, no folder
    }

    It 'takes a file, an SdImage and an ImageSharp image' {
        $first = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a cat' @script:Fast
        $fromSdImage = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a cat' -InitImage $first @script:Fast
        $fromSdImage.InitImage.Sha256 | Should -Be ([StableDiffusion.Imaging.SourceImageReader]::FromImage($first.Image).Sha256)
        $fromSdImage.InitImage.FileName | Should -BeNullOrEmpty
        $fromSdImage.Parameters.InitImage.ToString() | Should -Match '^sha256:[0-9a-f]{64}$'

        $loaded = [SixLabors.ImageSharp.Image]::Load($script:Photo)
        try { $fromImageSharp = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a cat' -InitImage $loaded @script:Fast }
        finally { $loaded.Dispose() }
        $fromImageSharp.InitImage.Width | Should -Be 64

        $fromFile = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a cat' -InitImage (Get-Item $script:Photo) @script:Fast
        $fromFile.InitImage.FileName | Should -Be $script:Photo
        $fromFile.Strength | Should -Be 0.8 -Because 'image to image defaults to diffusers 0.8'
    }

    It 'binds InitImage, Mask, Strength and MaskCropPadding from CSV columns; empty cells are not given' {
        $csv = Join-Path $TestDrive 'rows.csv'
        @(
            [pscustomobject]@{ Prompt = 'half'; InitImage = 'photo.png'; Mask = ''; Strength = '0.5'; MaskCropPadding = '' }
            [pscustomobject]@{ Prompt = 'default'; InitImage = 'photo.png'; Mask = ''; Strength = ''; MaskCropPadding = '' }
            [pscustomobject]@{ Prompt = 'inpaint'; InitImage = 'photo.png'; Mask = 'mask.png'; Strength = ''; MaskCropPadding = '8' }
            [pscustomobject]@{ Prompt = 'text only'; InitImage = ''; Mask = ''; Strength = ''; MaskCropPadding = '' }
        ) | Export-Csv $csv
        Push-Location $script:Inputs
        try {
            $verbose = Import-Csv $csv | Invoke-SdGeneration -Pipeline $script:Pipeline @script:Fast -Verbose 4>&1
        }
        finally { Pop-Location }
        $images = @($verbose | Where-Object { $_ -is [StableDiffusion.PowerShell.Objects.SdImage] })
        $images.Prompt | Should -Be @('half', 'default', 'inpaint', 'text only')
        $images[0].Strength | Should -Be 0.5
        $images[1].Strength | Should -Be 0.8
        $images[2].Strength | Should -Be 1.0 -Because 'inpainting defaults to diffusers 1.0'
        $images[2].Mask.FileName | Should -Be $script:Mask
        $images[2].MaskCropPadding | Should -Be 8
        $images[3].InitImage | Should -BeNullOrEmpty
        $images[3].Strength | Should -BeNullOrEmpty
        # photo.png is named by three rows and read once.
        @($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like "Read the init image*" }).Count | Should -Be 1
    }
}

Describe 'Invoke-SdGeneration image inputs on bad input' {
    It 'reports a missing file as ObjectNotFound for its record, and the other records still render' {
        $rows = @(
            [pscustomobject]@{ Prompt = 'first'; InitImage = $script:Photo }
            [pscustomobject]@{ Prompt = 'missing'; InitImage = (Join-Path $script:Inputs 'nope.png') }
            [pscustomobject]@{ Prompt = 'last'; InitImage = $script:Photo }
        )
        $r = Get-SdError { $rows | Invoke-SdGeneration -Pipeline $script:Pipeline @script:Fast }
        $r.Error.FullyQualifiedErrorId | Should -Be 'InitImageNotFound,StableDiffusion.PowerShell.Commands.InvokeSdGenerationCommand'
        $r.Error.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $r.Error.TargetObject | Should -Be (Join-Path $script:Inputs 'nope.png')
        $r.Error.Exception.Message | Should -Match 'does not exist'
        $r.Error.Exception.Message | Should -Match 'current location'
        $r.Output.Prompt | Should -Be @('first', 'last')
    }

    It 'reports a file that is not an image as InvalidData' {
        $notes = Join-Path $script:Inputs 'notes.png'
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -Mask $notes -InitImage $script:Photo @script:Fast }
        $r.Error.FullyQualifiedErrorId | Should -Match '^MaskUnreadable,'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidData'
        $r.Error.TargetObject | Should -Be $notes
        $r.Output | Should -BeNullOrEmpty
    }

    It 'refuses a path on another provider' {
        $r = Get-SdError { Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'x' -InitImage 'Env:/PATH' @script:Fast }
        $r.Error.FullyQualifiedErrorId | Should -Match '^InitImageNotAFile,'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'refuses <What>' -ForEach @(
        @{ What = 'a mask without an init image'; Id = 'MaskWithoutInitImage'; Target = 'Mask'; Arguments = @{ Mask = 'MASK' }; Pattern = 'needs an init image' }
        @{ What = 'a mask of another size'; Id = 'MaskSizeMismatch'; Target = 'Mask'; Arguments = @{ InitImage = 'WIDE'; Mask = 'MASK' }; Pattern = '64×64 but the init image .* is 96×64' }
        @{ What = 'a strength without an init image'; Id = 'StrengthWithoutInitImage'; Target = 0.5; Arguments = @{ Strength = 0.5 }; Pattern = 'would be ignored' }
        @{ What = 'a crop padding without a mask'; Id = 'MaskCropPaddingWithoutMask'; Target = 8; Arguments = @{ InitImage = 'PHOTO'; MaskCropPadding = 8 }; Pattern = 'would be ignored' }
        @{ What = 'a strength above 1'; Id = 'InvalidStrength'; Target = 1.5; Arguments = @{ InitImage = 'PHOTO'; Strength = 1.5 }; Pattern = 'from 0 to 1' }
        @{ What = 'a NaN strength'; Id = 'InvalidStrength'; Target = 'NaN'; Arguments = @{ InitImage = 'PHOTO'; Strength = [double]::NaN }; Pattern = 'from 0 to 1' }
    ) {
        $files = @{ PHOTO = $script:Photo; MASK = $script:Mask; WIDE = $script:Wide }
        $bound = @{}
        foreach ($k in $Arguments.Keys) { $bound[$k] = if ($Arguments[$k] -is [string]) { $files[$Arguments[$k]] } else { $Arguments[$k] } }
        $rows = @(
            [pscustomobject]@{ Prompt = 'good' }
            ([pscustomobject]@{ Prompt = 'bad' } | Add-Member -NotePropertyMembers $bound -PassThru)
            [pscustomobject]@{ Prompt = 'also good' }
        )
        $r = Get-SdError { $rows | Invoke-SdGeneration -Pipeline $script:Pipeline @script:Fast }
        $r.Error.FullyQualifiedErrorId | Should -Be "$Id,StableDiffusion.PowerShell.Commands.InvokeSdGenerationCommand"
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $expectedTarget = if ($Target -eq 'Mask') { $script:Mask } else { $Target }
        "$($r.Error.TargetObject)" | Should -Be "$expectedTarget"
        $r.Error.Exception.Message | Should -Match $Pattern
        $r.Output.Prompt | Should -Be @('good', 'also good')
    }

    It 'says when the model cannot run the task: no VAE encoder for an init image, an inpainting model without a mask' {
        $broken = New-SdBrokenModel (Join-Path $TestDrive 'noencoder') -Without 'vae_encoder'
        $noEncoder = New-SdPipeline -Path $broken -ExecutionProvider Cpu
        try {
            $r = Get-SdError { Invoke-SdGeneration -Pipeline $noEncoder -Prompt 'x' -InitImage $script:Photo @script:Fast }
            $r.Error.FullyQualifiedErrorId | Should -Match '^InvalidGenerationArgument,'
            $r.Error.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $r.Error.Exception.Message | Should -Match 'no VAE encoder'
        }
        finally { $noEncoder.Dispose() }
        $inpainting = New-SdPipeline -Path (Get-SdFixturePath 'tiny-sd-inpaint') -ExecutionProvider Cpu
        try {
            $r = Get-SdError { Invoke-SdGeneration -Pipeline $inpainting -Prompt 'x' -InitImage $script:Photo @script:Fast }
            $r.Error.FullyQualifiedErrorId | Should -Match '^InvalidGenerationArgument,'
            $r.Error.Exception.Message | Should -Match 'inpainting model.*give -Mask'
        }
        finally { $inpainting.Dispose() }
    }

    It 'refuses a CSV Strength cell that is no number, naming the column and the value, for that row only' {
        $csv = Join-Path $TestDrive 'strength.csv'
        @(
            [pscustomobject]@{ Prompt = 'good'; InitImage = $script:Photo; Strength = '0.5' }
            [pscustomobject]@{ Prompt = 'bad'; InitImage = $script:Photo; Strength = 'strong' }
            [pscustomobject]@{ Prompt = 'also good'; InitImage = $script:Photo; Strength = '' }
        ) | Export-Csv $csv
        $r = Get-SdError { Import-Csv $csv | Invoke-SdGeneration -Pipeline $script:Pipeline @script:Fast }
        $r.Error.FullyQualifiedErrorId | Should -Match '^RowValueInvalid,'
        $r.Error.Exception.Message | Should -Match "row 2, column 'Strength'"
        $r.Error.Exception.Message | Should -Match "'strong'"
        $r.Output.Prompt | Should -Be @('good', 'also good')
    }
}

Describe 'Image inputs in the PNG metadata' {
    BeforeAll {
        $script:Round = Join-Path $TestDrive 'round'
        New-Item -ItemType Directory $script:Round | Out-Null
        Copy-Item $script:Photo (Join-Path $script:Round 'photo.png')
        Copy-Item $script:Mask (Join-Path $script:Round 'mask.png')
        $script:RoundPng = Join-Path $script:Round 'inpainted.png'
        Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a red apple' -InitImage (Join-Path $script:Round 'photo.png') -Mask (Join-Path $script:Round 'mask.png') `
            -Strength 0.75 -MaskCropPadding 8 -Steps 3 -Seed 5 -Width 64 -Height 64 | Save-SdImage -Path $script:RoundPng
    }

    It 'records the inputs by name and pixel hash, the strength and the crop padding' {
        $text = [StableDiffusion.Imaging.PngFile]::ReadText($script:RoundPng)['parameters']
        $sha = [StableDiffusion.Imaging.SourceImageReader]::Load($script:Photo).Sha256
        $text | Should -Match 'Denoising strength: 0\.75'
        $text | Should -Match ([regex]::Escape("Init image: photo.png (sha256:$sha)"))
        $text | Should -Match 'Mask: mask\.png \(sha256:[0-9a-f]{64}\)'
        $text | Should -Match 'Mask crop padding: 8'
    }

    It 'reads them back, pointing at the files beside the PNG' {
        $info = Get-SdImageInfo $script:RoundPng
        $info.Strength | Should -Be 0.75
        $info.MaskCropPadding | Should -Be 8
        "$($info.InitImage)" | Should -Be (Join-Path $script:Round 'photo.png')
        "$($info.Mask)" | Should -Be (Join-Path $script:Round 'mask.png')
        $info.Parameters.InitImage.Sha256 | Should -Be ([StableDiffusion.Imaging.SourceImageReader]::Load($script:Photo).Sha256)
    }

    It 'regenerates a pixel-identical PNG from Get-SdImageInfo, bound or with -InitImage given' {
        $again = Join-Path $TestDrive 'again.png'
        Get-SdImageInfo $script:RoundPng | Invoke-SdGeneration -Pipeline $script:Pipeline | Save-SdImage -Path $again
        Get-SdPixelDifference $script:RoundPng $again | Should -Be 0
        $explicit = Join-Path $TestDrive 'explicit.png'
        Push-Location $TestDrive
        try {
            Get-SdImageInfo $script:RoundPng | Invoke-SdGeneration -Pipeline $script:Pipeline -InitImage 'round/photo.png' -Mask 'round/mask.png' | Save-SdImage -Path $explicit
        }
        finally { Pop-Location }
        Get-SdPixelDifference $script:RoundPng $explicit | Should -Be 0
        [StableDiffusion.Imaging.PngFile]::ReadText($explicit)['sd-parameters'] | Should -Be ([StableDiffusion.Imaging.PngFile]::ReadText($script:RoundPng)['sd-parameters'])
    }

    It 'warns when the file beside the PNG is not the recorded init image' {
        $moved = Join-Path $TestDrive 'moved'
        New-Item -ItemType Directory $moved | Out-Null
        Copy-Item $script:RoundPng $moved
        Copy-Item $script:Mask $moved
        Copy-Item $script:Wide (Join-Path $moved 'photo.png')
        $null = Get-SdImageInfo (Join-Path $moved 'inpainted.png') | Invoke-SdGeneration -Pipeline $script:Pipeline -Mask $null -MaskCropPadding $null `
            -WarningVariable warnings -WarningAction SilentlyContinue -ErrorAction SilentlyContinue
        "$warnings" | Should -Match 'is not the one .* was generated from'
        "$warnings" | Should -Match 'photo\.png \(sha256:'
    }

    It 'reports a recorded strength of the wrong type as unreadable metadata, not a .NET exception' {
        $bad = Join-Path $TestDrive 'bad-strength.png'
        $pixels = [SixLabors.ImageSharp.Image[SixLabors.ImageSharp.PixelFormats.Rgb24]]::new(8, 8)
        $text = [System.Collections.Generic.Dictionary[string, string]]::new()
        $text['sd-parameters'] = '{"prompt":"x","seed":1,"steps":2,"strength":"strong","init_image":{"name":"a.png","sha256":"' + ('0' * 64) + '"}}'
        try { [StableDiffusion.Imaging.PngFile]::SaveWithText($pixels, $bad, $text, $false) } finally { $pixels.Dispose() }
        $r = Get-SdError { Get-SdImageInfo $bad }
        $r.Error.FullyQualifiedErrorId | Should -Match '^ImageInfoUnreadable,'
        $r.Error.CategoryInfo.Category | Should -Be 'InvalidData'
        $r.Error.TargetObject | Should -Be $bad
    }

    It 'reads "Denoising strength: 0.6" from AUTOMATIC1111 text as the strength' {
        $a1111 = Join-Path $TestDrive 'a1111.png'
        $pixels = [SixLabors.ImageSharp.Image[SixLabors.ImageSharp.PixelFormats.Rgb24]]::new(64, 64)
        try {
            [StableDiffusion.Imaging.PngFile]::Save($pixels, $a1111,
                "a lighthouse at dawn`nNegative prompt: blurry`nSteps: 3, Sampler: Euler a, CFG scale: 7, Seed: 9, Size: 64x64, Model: tiny-sd, Denoising strength: 0.6, Mask blur: 4")
        }
        finally { $pixels.Dispose() }
        $info = Get-SdImageInfo $a1111
        $info.Strength | Should -Be 0.6
        $info.InitImage | Should -BeNullOrEmpty
        $info.Mask | Should -BeNullOrEmpty
        $image = $info | Invoke-SdGeneration -Pipeline $script:Pipeline -InitImage $script:Photo
        $image.Strength | Should -Be 0.6
        $image.Seed | Should -Be 9
        $image.Parameters.ToText() | Should -Match 'Denoising strength: 0\.6'
    }
}

BeforeDiscovery {
    # Every case of both manifests runs through the cmdlets (held-out cases are checked the same way elsewhere).
    $expected = Join-Path $PSScriptRoot '..' '..' 'shared' 'fixtures' 'tiny-sd' 'expected'
    $script:Img2ImgCases = (Get-Content (Join-Path $expected 'img2img-diffusers-0.35' 'manifest.json') -Raw | ConvertFrom-Json).cases |
        ForEach-Object { @{ Id = $_.id } }
    $script:InpaintCases = (Get-Content (Join-Path $expected 'inpaint-diffusers-0.35' 'manifest.json') -Raw | ConvertFrom-Json).cases |
        ForEach-Object { @{ Id = $_.id } }
}

Describe 'Parity with diffusers 0.35.2 through the cmdlets' {
    BeforeAll {
        $script:InpaintPipeline = New-SdPipeline -Path (Get-SdFixturePath 'tiny-sd-inpaint') -ExecutionProvider Cpu

        # Runs a fixture case through Invoke-SdGeneration and Save-SdImage: the largest difference to diffusers' PNGs.
        # A case's images form one batch, as diffusers' call does (inpainting draws the masked image's latents from the
        # first generator of the batch).
        function Test-SdCase([string] $Folder, [string] $Id) {
            $case = Get-SdCase $Folder $Id
            $prompts = @($case.prompt)
            $seeds = @($case.seed)
            $perPrompt = $case.num_images_per_prompt
            $arguments = @{
                Prompt = $prompts; Steps = $case.num_inference_steps; GuidanceScale = $case.guidance_scale; Eta = $case.eta
                Scheduler = Get-SdCaseScheduler $case; Strength = $case.strength; ImagesPerPrompt = $perPrompt
                BatchSize = $prompts.Count * $perPrompt
                # One seed per prompt; image j of a prompt uses seed + j, as the cases' generator lists do.
                Seed = @(for ($p = 0; $p -lt $prompts.Count; $p++) { $seeds[$p * $perPrompt] })
            }
            if ($null -ne $case.negative_prompt) { $arguments.NegativePrompt = $case.negative_prompt }
            if ($case.image.files) { $arguments.InitImage = Join-Path $Folder $case.image.files[0] }   # img2img: the image's own size
            else {
                $arguments += @{ InitImage = Join-Path $Folder $case.image.file; Mask = Join-Path $Folder $case.mask_image.file }
                if ($null -ne $case.width) { $arguments += @{ Width = $case.width; Height = $case.height } }
            }
            if ($null -ne $case.padding_mask_crop) { $arguments.MaskCropPadding = $case.padding_mask_crop }
            $pipeline = if ($case.model_path -like "*tiny-sd-inpaint*") { $script:InpaintPipeline } else { $script:Pipeline }
            $images = @(Invoke-SdGeneration -Pipeline $pipeline @arguments)
            $images.Count | Should -Be ($prompts.Count * $perPrompt)
            $worst = 0
            for ($i = 0; $i -lt $images.Count; $i++) {
                $png = Join-Path $TestDrive "$Id-$i.png"
                $images[$i] | Save-SdImage -Path $png
                $worst = [Math]::Max($worst, (Get-SdPixelDifference (Join-Path $Folder $Id "image_$i.png") $png))
            }
            $worst
        }
    }

    AfterAll { if ($script:InpaintPipeline) { $script:InpaintPipeline.Dispose() } }

    It 'img2img <Id> matches diffusers within 1 level' -ForEach $script:Img2ImgCases {
        Test-SdCase (Get-SdExpectedPath 'img2img-diffusers-0.35') $Id | Should -BeLessOrEqual 1
    }

    It 'inpaint <Id> matches diffusers within 1 level' -ForEach $script:InpaintCases {
        Test-SdCase (Get-SdExpectedPath 'inpaint-diffusers-0.35') $Id | Should -BeLessOrEqual 1
    }
}

Describe 'Invoke-SdRenderJob with init images and masks' {
    BeforeAll {
        $script:JobDir = Join-Path $TestDrive 'job'
        New-Item -ItemType Directory (Join-Path $script:JobDir 'photos') -Force | Out-Null
        Copy-Item $script:Photo (Join-Path $script:JobDir 'photos' 'photo.png')
        Copy-Item $script:Mask (Join-Path $script:JobDir 'photos' 'mask.png')
        $model = (Get-SdFixturePath) -replace "'", "''"
        $script:JobFile = Join-Path $script:JobDir 'variations.psd1'
        @"
@{
    Model           = '$model'
    Provider        = 'Cpu'
    Defaults        = @{ Seeds = 0; Steps = 20; GuidanceScale = 7.5; InitImage = 'photos/photo.png' }
    Prompts         = @(
        @{ Prompt = 'a photo of a cat'; Strength = 0.75 }
        @{ Prompt = 'a red apple'; Mask = 'photos/mask.png'; Strength = 0.75; Width = 64; Height = 64 }
    )
    OutputDirectory = 'out'
}
"@ | Set-Content $script:JobFile
    }

    It 'renders what Invoke-SdGeneration renders, from paths relative to the job file' {
        $summary = Invoke-SdRenderJob -Path $script:JobFile -InformationAction SilentlyContinue
        $summary.Rendered | Should -Be 2
        $pngs = @(Get-ChildItem (Join-Path $script:JobDir 'out') -Filter *.png | Sort-Object Name)
        # Prompt 0 is the fixture case pndm_s075: the job's image is diffusers' within 1 level…
        $case = Get-SdExpectedPath 'img2img-diffusers-0.35', 'pndm_s075', 'image_0.png'
        Get-SdPixelDifference $case $pngs[0].FullName | Should -BeLessOrEqual 1
        # … and exactly the cmdlet's.
        $cmdlet = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a photo of a cat' -Seed 0 -Steps 20 -InitImage $script:Photo -Strength 0.75
        Get-SdPixelDifference $cmdlet.Image $pngs[0].FullName | Should -Be 0
        $info = Get-SdImageInfo $pngs[1].FullName
        "$($info.Mask)" | Should -Be 'mask.png' -Because 'the PNG records the name only, and no mask.png is beside it'
        $info.Strength | Should -Be 0.75
    }

    It 'renders again only the images whose input pixels changed' {
        $png = @(Get-ChildItem (Join-Path $script:JobDir 'out') -Filter *.png | Sort-Object Name)[1].FullName
        $before = (Get-Item $png).LastWriteTimeUtc
        (Invoke-SdRenderJob -Path $script:JobFile -InformationAction SilentlyContinue).Rendered | Should -Be 0
        $pixels = [SixLabors.ImageSharp.Image]::Load[SixLabors.ImageSharp.PixelFormats.L8]((Join-Path $script:JobDir 'photos' 'mask.png'))
        try {
            $pixels[0, 0] = [SixLabors.ImageSharp.PixelFormats.L8]::new(255)
            [SixLabors.ImageSharp.ImageExtensions]::SaveAsPng($pixels, (Join-Path $script:JobDir 'photos' 'mask.png'))
        }
        finally { $pixels.Dispose() }
        $summary = Invoke-SdRenderJob -Path $script:JobFile -InformationAction SilentlyContinue
        $summary.Rendered | Should -Be 1
        $summary.Replaced | Should -Be 1
        (Get-Item $png).LastWriteTimeUtc | Should -BeGreaterThan $before
    }

    It 'reports a missing input with its key and line before loading the model' {
        $bad = Join-Path $script:JobDir 'bad.psd1'
        (Get-Content $script:JobFile -Raw) -replace 'photos/mask.png', 'photos/gone.png' | Set-Content $bad
        Invoke-SdRenderJob -Path $bad -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidJobFile*'
        $problem = @($err[0].Exception.Problems | Where-Object Location -EQ 'Prompts[1].Mask')
        $problem.Count | Should -Be 1
        $problem[0].Line | Should -Be 7
        $problem[0].Message | Should -BeLike "*gone.png' does not exist*job file's folder*"
    }
}
