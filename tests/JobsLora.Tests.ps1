# Render jobs with LoRAs and embeddings: the fixture LoRA reproduces diffusers' lora_a_scale1 image, an embedding folder
# reproduces ti_cat_style, the PNGs record the LoRAs (read back by Get-SdImageInfo), a changed weight renders again, and
# a LoRA that does not fit the model stops the job before its first image.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
    $script:LoraFixtures = Join-Path (Split-Path $script:Model -Parent) 'tiny-sd-lora'
    $script:LoraCase = (Get-Content (Get-SdExpectedPath 'lora-diffusers-0.35', 'manifest.json') -Raw | ConvertFrom-Json -AsHashtable).cases |
        Where-Object id -eq 'lora_a_scale1'
    $script:TiCase = (Get-Content (Get-SdExpectedPath 'textual-inversion-diffusers-0.35', 'manifest.json') -Raw | ConvertFrom-Json -AsHashtable).cases |
        Where-Object id -eq 'ti_cat_style'

    # A one-image job for a manifest case, in $Folder, with $Adapters (psd1 lines) added at the top level.
    function New-CaseJob([string] $Folder, $Case, [string] $Adapters) {
        New-Item -ItemType Directory -Force $Folder | Out-Null
        $path = Join-Path $Folder 'job.psd1'
        @"
@{
    Model = '$script:Model'
    Provider = 'Cpu'
    Scheduler = '$($Case.scheduler.class)'
    $Adapters
    Defaults = @{ Steps = $($Case.num_inference_steps); GuidanceScale = $($Case.guidance_scale); Width = $($Case.width); Height = $($Case.height); Seeds = $($Case.seed) }
    Prompts = @( '$($Case.prompt)' )
    OutputDirectory = 'out'
}
"@ | Set-Content $path
        $path
    }
}

Describe 'Invoke-SdRenderJob with Loras' {
    BeforeAll {
        $script:Folder = Join-Path $TestDrive 'lora'
        New-Item -ItemType Directory -Force (Join-Path $script:Folder 'loras') | Out-Null
        Copy-Item (Join-Path $script:LoraFixtures ($script:LoraCase.lora[0].file -replace '^tiny-sd-lora/', '')) (Join-Path $script:Folder 'loras' 'tiny_lora_a.safetensors')
        # A relative path: it starts at the job file's folder.
        $script:Job = New-CaseJob $script:Folder $script:LoraCase "Loras = @( @{ Path = 'loras/tiny_lora_a.safetensors'; Weight = $($script:LoraCase.lora[0].weight) } )"
        $script:Summary = Invoke-SdRenderJob -Path $script:Job -InformationAction Ignore
        $script:Png = @(Get-ChildItem (Join-Path $script:Folder 'out') -Filter *.png)
    }

    It 'renders diffusers'' lora_a_scale1 image within 1 PNG level' {
        $script:Summary.Rendered | Should -Be 1
        $script:Png.Count | Should -Be 1
        Get-SdPixelDifference (Get-SdExpectedPath 'lora-diffusers-0.35', 'lora_a_scale1', 'image_0.png') $script:Png[0].FullName | Should -BeLessOrEqual 1
        # Without the LoRA the image is far from it (so the check above can tell).
        Get-SdPixelDifference (Get-SdExpectedPath 'lora-diffusers-0.35', 'no_lora', 'image_0.png') $script:Png[0].FullName | Should -BeGreaterThan 1
    }

    It 'records the LoRA with its weight and short hash, read back by Get-SdImageInfo' {
        $hash = (Get-FileHash (Join-Path $script:Folder 'loras' 'tiny_lora_a.safetensors') -Algorithm SHA256).Hash.ToLowerInvariant()
        $info = Get-SdImageInfo -Path $script:Png[0].FullName
        $info.Loras | Should -Be "tiny_lora_a:1 ($($hash.Substring(0, 12)))"
    }

    It 'skips the image on a rerun, and renders it again when the weight changes' {
        (Invoke-SdRenderJob -Path $script:Job -InformationAction Ignore).Skipped | Should -Be 1
        (Get-Content $script:Job -Raw) -replace 'Weight = 1', 'Weight = 0.5' | Set-Content $script:Job
        $again = Invoke-SdRenderJob -Path $script:Job -InformationAction Ignore
        $again.Rendered | Should -Be 1
        (Get-SdImageInfo -Path $script:Png[0].FullName).Loras | Should -BeLike 'tiny_lora_a:0.5 (*)'
        Get-SdPixelDifference (Get-SdExpectedPath 'lora-diffusers-0.35', 'lora_a_scale05', 'image_0.png') $script:Png[0].FullName | Should -BeLessOrEqual 1
    }

    It 'stops before the first image when a LoRA''s keys change nothing in the model' {
        $folder = Join-Path $TestDrive 'unmapped'
        New-Item -ItemType Directory -Force $folder | Out-Null
        # A well-formed kohya file whose one module names a layer tiny-sd does not have.
        $header = '{"lora_unet_no_such_layer.lora_down.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"lora_unet_no_such_layer.lora_up.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[4,8]}}'
        $bytes = [System.Collections.Generic.List[byte]]::new()
        $bytes.AddRange([BitConverter]::GetBytes([uint64][System.Text.Encoding]::UTF8.GetByteCount($header)))
        $bytes.AddRange([System.Text.Encoding]::UTF8.GetBytes($header))
        $bytes.AddRange([byte[]]::new(8))
        [System.IO.File]::WriteAllBytes((Join-Path $folder 'odd.safetensors'), $bytes.ToArray())
        $job = New-CaseJob $folder $script:LoraCase "Loras = 'odd.safetensors'"
        Invoke-SdRenderJob -Path $job -ErrorVariable err -ErrorAction SilentlyContinue -InformationAction Ignore | Out-Null
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Not -BeLike 'System.*'
        $err[0].CategoryInfo.Category | Should -Not -Be 'NotSpecified'
        $err[0].Exception.Message | Should -BeLike "*LoRAs or embeddings do not fit the model*"
        @(Get-ChildItem (Join-Path $folder 'out') -Filter *.png -ErrorAction SilentlyContinue).Count | Should -Be 0
    }
}

Describe 'Invoke-SdRenderJob with EmbeddingPath' {
    It 'loads an embedding folder (file names as tokens) and renders diffusers'' ti_cat_style image within 1 PNG level' {
        $folder = Join-Path $TestDrive 'ti'
        New-Item -ItemType Directory -Force (Join-Path $folder 'embeddings') | Out-Null
        # In a folder, the file's name is the token (A1111's convention): 'tiny-style' stands where the manifest has '<tiny-style>'.
        Copy-Item (Join-Path $script:LoraFixtures 'tiny-style.a1111.safetensors') (Join-Path $folder 'embeddings' 'tiny-style.safetensors')
        $case = $script:TiCase.Clone()
        $case.prompt = $case.prompt.Replace('<tiny-style>', 'tiny-style')
        $job = New-CaseJob $folder $case "EmbeddingPath = 'embeddings'"
        (Invoke-SdRenderJob -Path $job -InformationAction Ignore).Rendered | Should -Be 1
        $png = @(Get-ChildItem (Join-Path $folder 'out') -Filter *.png)
        Get-SdPixelDifference (Get-SdExpectedPath 'textual-inversion-diffusers-0.35', 'ti_cat_style', 'image_0.png') $png[0].FullName | Should -BeLessOrEqual 1
        Get-SdPixelDifference (Get-SdExpectedPath 'textual-inversion-diffusers-0.35', 'ti_cat_style_baseline', 'image_0.png') $png[0].FullName | Should -BeGreaterThan 1
    }
}
