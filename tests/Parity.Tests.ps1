# Every whole-pipeline reference case, reproduced through the cmdlets (the library's own parity tests check the
# intermediates; this checks that the PowerShell surface passes everything through): image atol 1e-4, PNG within 1 level.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Cases = foreach ($manifest in 'pipeline-diffusers-0.35', 'pipeline') {
        $m = Get-Content (Get-SdExpectedPath $manifest, 'manifest.json') -Raw | ConvertFrom-Json -AsHashtable
        foreach ($c in $m.cases) { @{ Manifest = $manifest; Id = $c.id; Case = $c } }
    }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Pipeline = New-SdPipeline -Path (Get-SdFixturePath) -ExecutionProvider Cpu
}

AfterAll {
    if ($script:Pipeline) { $script:Pipeline.Dispose() }
}

Describe 'Reference case <Manifest>/<Id> through Invoke-SdGeneration' -ForEach $script:Cases {
    It 'matches diffusers' {
        $c = $Case
        $options = @{ Name = $c.scheduler.class }
        if ($Manifest -eq 'pipeline-diffusers-0.35') {
            if ($c.scheduler.from_config_overrides) { foreach ($k in $c.scheduler.from_config_overrides.Keys) { $options[$k] = $c.scheduler.from_config_overrides[$k] } }
        }
        elseif ($c.scheduler.class -like 'DPMSolver*') {
            $options['final_sigmas_type'] = 'sigma_min'   # the README's option that reproduces diffusers 0.12's last step
        }
        $prompts = @($c.prompt)
        $seeds = @($c.seed)
        $arguments = @{
            Pipeline = $script:Pipeline; Prompt = $prompts; Seed = $seeds; Steps = $c.num_inference_steps
            GuidanceScale = $c.guidance_scale; Width = $c.width; Height = $c.height; Eta = $c.eta
            Scheduler = $options; BatchSize = $prompts.Count
        }
        if ($c.negative_prompt) { $arguments.NegativePrompt = @($c.negative_prompt) }
        if ($c.ContainsKey('guidance_rescale')) { $arguments.GuidanceRescale = $c.guidance_rescale }
        $images = @(Invoke-SdGeneration @arguments)
        $images.Count | Should -Be $prompts.Count

        $expected = [System.IO.File]::ReadAllBytes((Get-SdExpectedPath $Manifest, $c.id, 'image.f32'))
        $perImage = $expected.Length / 4 / $images.Count
        for ($i = 0; $i -lt $images.Count; $i++) {
            $pixels = $images[$i].Result.Pixels
            $pixels.Count | Should -Be $perImage
            $worst = 0.0
            for ($j = 0; $j -lt $perImage; $j++) {
                $d = [Math]::Abs($pixels[$j] - [BitConverter]::ToSingle($expected, 4 * ($i * $perImage + $j)))
                if ($d -gt $worst) { $worst = $d }
            }
            $worst | Should -BeLessOrEqual 1e-4
            $png = Join-Path $TestDrive "$($c.id)-$i.png"
            $images[$i] | Save-SdImage -Path $png
            Get-SdPixelDifference (Get-SdExpectedPath $Manifest, $c.id, "image_$i.png") $png | Should -BeLessOrEqual 1
        }
    }
}
