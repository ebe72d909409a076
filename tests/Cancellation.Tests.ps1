BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Pipeline = New-SdPipeline -Path (Get-SdFixturePath) -ExecutionProvider Cpu
}

AfterAll {
    if ($script:Pipeline) { $script:Pipeline.Dispose() }
}

Describe 'Stopping Invoke-SdGeneration (Ctrl+C)' {
    It 'stops inside an image, keeps the images already finished, and leaks no session' {
        $sessionsBefore = [StableDiffusion.Models.OnnxComponent]::LiveSessions
        $ps = [PowerShell]::Create()
        try {
            $null = $ps.AddScript("param(`$p) Import-Module '$(Get-SdTestModulePath)'; Invoke-SdGeneration -Pipeline `$p -Prompt a, b, c, d, e -Seed 1 -Steps 100 -Width 64 -Height 64").AddArgument($script:Pipeline)
            $inputData = [System.Management.Automation.PSDataCollection[psobject]]::new()
            $inputData.Complete()
            $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
            $async = $ps.BeginInvoke($inputData, $output)
            $deadline = [DateTime]::UtcNow.AddMinutes(2)
            while ($output.Count -lt 1 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
            $output.Count | Should -BeGreaterOrEqual 1 -Because 'the first image finishes before we stop'
            $imageTime = $output[0].Elapsed
            Start-Sleep -Milliseconds ([int]($imageTime.TotalMilliseconds * 0.3))   # stop in the middle of the next image
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $clock.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            # Stopping waits for the step in flight only, not for the image to finish.
            $clock.Elapsed.TotalMilliseconds | Should -BeLessThan ($imageTime.TotalMilliseconds * 0.5)
            $output.Count | Should -BeLessThan 5
            $output[0].Seed | Should -Be 1
            $output[0].Image.Width | Should -Be 64
        }
        finally { $ps.Dispose() }
        [StableDiffusion.Models.OnnxComponent]::LiveSessions | Should -Be $sessionsBefore
        # The pipeline is intact after a stop.
        (Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'after' -Seed 2 -Steps 2 -Width 64 -Height 64).Width | Should -Be 64
    }

    It 'disposes the sessions of a pipeline whose load fails half way' {
        $before = [StableDiffusion.Models.OnnxComponent]::LiveSessions
        $broken = New-SdBrokenModel (Join-Path $TestDrive 'half') -Corrupt 'vae_decoder'
        $null = New-SdPipeline -Path $broken -ExecutionProvider Cpu -ErrorAction SilentlyContinue
        [StableDiffusion.Models.OnnxComponent]::LiveSessions | Should -Be $before
    }
}
