BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath

    # Runs a command that must fail and returns its ErrorRecord (terminating or not).
    function Get-ErrorOf([scriptblock] $Command) {
        try {
            $null = & $Command -ErrorAction Stop
        }
        catch {
            return $_
        }
        throw 'The command did not fail.'
    }
}

Describe 'A disposed pipeline' {
    BeforeAll {
        $script:Dead = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
        $script:Dead.Dispose()
    }

    # Every cmdlet that takes a pipeline, as a user would call it; the completeness test below keeps the list whole.
    It '<Cmdlet> refuses it with PipelineDisposed' -ForEach @(
        @{ Cmdlet = 'Invoke-SdGeneration'; Call = { Invoke-SdGeneration -Pipeline $script:Dead -Prompt 'x' -Steps 2 -Width 64 -Height 64 } }
        @{ Cmdlet = 'Set-SdScheduler'; Call = { Set-SdScheduler -Pipeline $script:Dead -Name 'Euler' } }
        @{ Cmdlet = 'Set-SdVae'; Call = { Set-SdVae -Pipeline $script:Dead -Path $script:Model } }
        @{ Cmdlet = 'Enable-SdAttentionSlicing'; Call = { Enable-SdAttentionSlicing -Pipeline $script:Dead -SliceSize Max } }
        @{ Cmdlet = 'Disable-SdAttentionSlicing'; Call = { Disable-SdAttentionSlicing -Pipeline $script:Dead } }
        @{ Cmdlet = 'Enable-SdVaeSlicing'; Call = { Enable-SdVaeSlicing -Pipeline $script:Dead } }
        @{ Cmdlet = 'Disable-SdVaeSlicing'; Call = { Disable-SdVaeSlicing -Pipeline $script:Dead } }
        @{ Cmdlet = 'Get-SdPromptToken'; Call = { Get-SdPromptToken -Pipeline $script:Dead -Prompt 'a photo of a cat' } }
        @{ Cmdlet = 'Get-SdScheduler'; Call = { Get-SdScheduler -Pipeline $script:Dead } }
        @{ Cmdlet = 'Add-SdLora'; Call = { Add-SdLora -Pipeline $script:Dead -Path (Join-Path $script:Model '..' 'tiny-sd-lora' 'tiny_lora_a.kohya.fp16.safetensors') } }
        @{ Cmdlet = 'Get-SdLora'; Call = { Get-SdLora -Pipeline $script:Dead } }
        @{ Cmdlet = 'Remove-SdLora'; Call = { Remove-SdLora -Pipeline $script:Dead -Name 'tiny_lora_a.kohya.fp16' } }
        @{ Cmdlet = 'Clear-SdLora'; Call = { Clear-SdLora -Pipeline $script:Dead } }
        @{ Cmdlet = 'Add-SdEmbedding'; Call = { Add-SdEmbedding -Pipeline $script:Dead -Path (Join-Path $TestDrive 'none.safetensors') } }
        @{ Cmdlet = 'Get-SdEmbedding'; Call = { Get-SdEmbedding -Pipeline $script:Dead } }
    ) {
        $e = Get-ErrorOf $Call
        $e.FullyQualifiedErrorId | Should -BeLike "PipelineDisposed,*$($Cmdlet -replace '-', '')Command"
        $e.CategoryInfo.Category | Should -Be 'InvalidOperation'
        $e.TargetObject | Should -Be $script:Dead
        $e.Exception | Should -BeOfType ([StableDiffusion.Pipeline.PipelineDisposedException])
        $e.Exception.Message | Should -BeLike '*New-SdPipeline*'
    }

    It 'is refused the same way when it comes down the PowerShell pipeline' {
        $e = Get-ErrorOf { $script:Dead | Set-SdScheduler 'Euler' | Invoke-SdGeneration -Prompt 'x' -Steps 2 -Width 64 -Height 64 }
        $e.FullyQualifiedErrorId | Should -BeLike 'PipelineDisposed,*'
        $e.TargetObject | Should -Be $script:Dead
    }

    It 'is refused before the other arguments are looked at (a bad VAE folder, a bad slice size)' {
        (Get-ErrorOf { Set-SdVae -Pipeline $script:Dead -Path (Join-Path $TestDrive 'no-such-vae') }).FullyQualifiedErrorId | Should -BeLike 'PipelineDisposed,*'
        (Get-ErrorOf { Enable-SdAttentionSlicing -Pipeline $script:Dead -SliceSize 'lots' }).FullyQualifiedErrorId | Should -BeLike 'PipelineDisposed,*'
    }

    It 'covers every exported cmdlet that takes a pipeline' {
        $pipelineType = [StableDiffusion.PowerShell.Objects.SdPipeline]
        $taking = Get-Command -Module StableDiffusion -CommandType Cmdlet |
            Where-Object { $_.Parameters.Values.ParameterType -contains $pipelineType } | ForEach-Object Name | Sort-Object
        $covered = 'Add-SdEmbedding', 'Add-SdLora', 'Clear-SdLora', 'Disable-SdAttentionSlicing', 'Disable-SdVaeSlicing', 'Enable-SdAttentionSlicing',
            'Enable-SdVaeSlicing', 'Get-SdEmbedding', 'Get-SdLora', 'Get-SdPromptToken', 'Get-SdScheduler', 'Invoke-SdGeneration', 'Remove-SdLora',
            'Set-SdScheduler', 'Set-SdVae'
        $taking | Should -Be $covered
    }

    It 'says it is disposed, disposes again harmlessly and still shows its name' {
        $script:Dead.IsDisposed | Should -BeTrue
        { $script:Dead.Dispose() } | Should -Not -Throw
        "$script:Dead" | Should -Be 'tiny-sd (disposed)'
    }
}

Describe 'Dispose from another runspace while Invoke-SdGeneration runs' {
    It 'stops the generation with PipelineDisposed, keeps the images already made, frees every session, and the process goes on' {
        $sessionsBefore = [StableDiffusion.Models.OnnxComponent]::LiveSessions
        $sd = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
        $ps = [PowerShell]::Create()
        try {
            $null = $ps.AddScript("param(`$p) Import-Module '$(Get-SdTestModulePath)'; Invoke-SdGeneration -Pipeline `$p -Prompt a, b, c, d, e -Seed 1 -Steps 50 -Width 64 -Height 64").AddArgument($sd)
            $inputData = [System.Management.Automation.PSDataCollection[psobject]]::new()
            $inputData.Complete()
            $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
            $async = $ps.BeginInvoke($inputData, $output)
            $deadline = [DateTime]::UtcNow.AddMinutes(2)
            while ($output.Count -lt 1 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
            $output.Count | Should -BeGreaterOrEqual 1 -Because 'the first image finishes before the pipeline is disposed'
            Start-Sleep -Milliseconds ([int]($output[0].Elapsed.TotalMilliseconds * 0.3))   # in the middle of the next image

            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            $sd.Dispose()   # waits for the run in flight to stop: nothing native is freed under it
            $clock.Stop()
            $async.AsyncWaitHandle.WaitOne([TimeSpan]::FromMinutes(1)) | Should -BeTrue
            try { $ps.EndInvoke($async) } catch { }

            # A cmdlet's terminating error ends its statement: the script completes with the error in its stream.
            $ps.InvocationStateInfo.State | Should -Be 'Completed'
            $ps.Streams.Error.Count | Should -Be 1
            $record = $ps.Streams.Error[0]
            $record.FullyQualifiedErrorId | Should -BeLike 'PipelineDisposed,*'
            $record.CategoryInfo.Category | Should -Be 'InvalidOperation'
            $record.TargetObject | Should -Be $sd
            $record.Exception.DuringRun | Should -BeTrue
            $output.Count | Should -BeLessThan 5
            $output[0].Seed | Should -Be 1
            # Cancelled within a step, not after the image: well under the image time (generous: shared CPU).
            $clock.Elapsed.TotalMilliseconds | Should -BeLessThan ([Math]::Max(2000, $output[0].Elapsed.TotalMilliseconds))
        }
        finally { $ps.Dispose() }
        [StableDiffusion.Models.OnnxComponent]::LiveSessions | Should -Be $sessionsBefore
        $sd.IsDisposed | Should -BeTrue
        (Get-ErrorOf { Invoke-SdGeneration -Pipeline $sd -Prompt 'after' -Steps 2 -Width 64 -Height 64 }).FullyQualifiedErrorId | Should -BeLike 'PipelineDisposed,*'
        # The process goes on: a fresh pipeline generates.
        $fresh = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
        try { (Invoke-SdGeneration -Pipeline $fresh -Prompt 'after' -Seed 2 -Steps 2 -Width 64 -Height 64).Width | Should -Be 64 }
        finally { $fresh.Dispose() }
    }

    It 'lets a runspace that only waited for its turn fail cleanly too' {
        # 900 steps: long enough that neither run can finish before the Dispose 1.5 s in (200 steps once did, on a quiet machine).
        $sd = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
        $runs = foreach ($i in 1..2) {
            $ps = [PowerShell]::Create()
            $null = $ps.AddScript("param(`$p) Import-Module '$(Get-SdTestModulePath)'; Invoke-SdGeneration -Pipeline `$p -Prompt run$i -Seed $i -Steps 900 -Width 64 -Height 64").AddArgument($sd)
            [pscustomobject]@{ PowerShell = $ps; Async = $ps.BeginInvoke() }
        }
        try {
            Start-Sleep -Milliseconds 1500
            $sd.Dispose()
            foreach ($run in $runs) {
                $run.Async.AsyncWaitHandle.WaitOne([TimeSpan]::FromMinutes(1)) | Should -BeTrue
                try { $null = $run.PowerShell.EndInvoke($run.Async) } catch { }
                $run.PowerShell.Streams.Error.FullyQualifiedErrorId | Should -BeLike 'PipelineDisposed,*'
            }
        }
        finally { $runs.PowerShell | ForEach-Object Dispose }
    }
}
