BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
    $script:Pipeline = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
    $script:Fast = @{ Steps = 3; Width = 64; Height = 64; Seed = 1 }
}

AfterAll {
    if ($script:Pipeline) { $script:Pipeline.Dispose() }
}

Describe 'Get-SdScheduler' {
    It 'lists the diffusers schedulers with order, stochasticity and a description' {
        $all = Get-SdScheduler
        $all.Name | Should -Contain 'PNDMScheduler'
        $all.Name | Should -Contain 'DPMSolverMultistepScheduler'
        $all.Name | Should -Contain 'EulerDiscreteScheduler'
        $all.Name | Should -Contain 'UniPCMultistepScheduler'
        foreach ($s in $all) {
            $s.Order | Should -BeGreaterOrEqual 1
            $s.Description | Should -Not -BeNullOrEmpty
            $s.Stochastic | Should -BeOfType [bool]
        }
    }

    It 'marks the pipeline''s current scheduler' {
        $current = Get-SdScheduler -Pipeline $script:Pipeline | Where-Object IsCurrent
        $current.Name | Should -Be 'PNDMScheduler'
    }

    It 'finds a scheduler by any of its names' -ForEach @(
        @{ Name = 'DPMSolverMultistepScheduler'; Class = 'DPMSolverMultistepScheduler' }
        @{ Name = 'DPMSolverMultistep'; Class = 'DPMSolverMultistepScheduler' }
        @{ Name = 'DPM++ 2M Karras'; Class = 'DPMSolverMultistepScheduler' }
        @{ Name = 'dpm++ 2m'; Class = 'DPMSolverMultistepScheduler' }
        @{ Name = 'Euler'; Class = 'EulerDiscreteScheduler' }
        @{ Name = 'UniPC'; Class = 'UniPCMultistepScheduler' }
        @{ Name = 'PLMS'; Class = 'PNDMScheduler' }
    ) {
        (Get-SdScheduler -Name $Name).Name | Should -Be $Class
    }

    It 'lists the options a scheduler takes' {
        (Get-SdScheduler 'DPMSolverMultistep').Options | Should -Contain 'use_karras_sigmas'
    }
}

Describe 'Set-SdScheduler' {
    AfterEach { $null = $script:Pipeline | Set-SdScheduler PNDM }

    It 'swaps the scheduler and passes the pipeline on, so configuration chains' {
        $out = $script:Pipeline | Set-SdScheduler DPMSolverMultistep
        $out | Should -Be $script:Pipeline
        "$($script:Pipeline.Scheduler)" | Should -Be 'DPMSolverMultistepScheduler'
        $image = $script:Pipeline | Set-SdScheduler 'Euler' | Invoke-SdGeneration -Prompt 'a' @script:Fast
        $image.Scheduler | Should -Be 'EulerDiscreteScheduler'
    }

    It 'reproduces diffusers with DPM++ 2M Karras chosen by its UI name (dpmpp2m_karras20)' {
        $png = Join-Path $TestDrive 'karras.png'
        $script:Pipeline | Set-SdScheduler 'DPM++ 2M Karras' |
            Invoke-SdGeneration -Prompt 'a bowl of ramen, studio lighting' -Seed 102 -Steps 20 -Width 64 -Height 64 |
            Save-SdImage -Path $png
        Get-SdPixelDifference (Get-SdExpectedPath 'pipeline-diffusers-0.35', 'dpmpp2m_karras20', 'image_0.png') $png | Should -BeLessOrEqual 1
    }

    It 'takes options as a hashtable, the same as the alias' {
        $a = $script:Pipeline | Set-SdScheduler DPMSolverMultistep -Option @{ use_karras_sigmas = $true } | Invoke-SdGeneration -Prompt 'a' @script:Fast
        $b = $script:Pipeline | Set-SdScheduler 'DPM++ 2M Karras' | Invoke-SdGeneration -Prompt 'a' @script:Fast
        Get-SdPixelDifference $a.Image $b.Image | Should -Be 0
        $a.SchedulerOptions.Keys | Should -Contain 'use_karras_sigmas'
        "$($script:Pipeline.Scheduler)" | Should -Be 'DPMSolverMultistepScheduler (use_karras_sigmas=true)'
    }

    It 'names the closest schedulers for an unknown name' {
        { $script:Pipeline | Set-SdScheduler 'DPMSolverMultistp' -ErrorAction Stop } | Should -Throw "*Unknown scheduler 'DPMSolverMultistp'*DPMSolverMultistep*"
        "$($script:Pipeline.Scheduler)" | Should -Be 'PNDMScheduler'
    }

    It 'names the key of an unknown option' {
        { $script:Pipeline | Set-SdScheduler DPMSolverMultistep -Option @{ use_karas_sigmas = $true } -ErrorAction Stop } | Should -Throw '*use_karas_sigmas*'
    }

    It 'names the allowed values of an invalid option value' {
        $err = { $script:Pipeline | Set-SdScheduler DPMSolverMultistep -Option @{ algorithm_type = 'fast' } -ErrorAction Stop } | Should -Throw -PassThru
        $err.Exception.Message | Should -Match 'algorithm_type'
        $err.Exception.Message | Should -Match 'dpmsolver\+\+'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
    }
}

Describe 'Scheduler name completion' {
    It 'completes <Typed> to include <Expected>' -ForEach @(
        @{ Typed = 'Set-SdScheduler -Name DPM'; Expected = 'DPMSolverMultistep' }
        @{ Typed = 'Set-SdScheduler -Name DPM'; Expected = "'DPM++ 2M Karras'" }
        @{ Typed = 'Invoke-SdGeneration -Scheduler Eul'; Expected = 'EulerDiscrete' }
        @{ Typed = 'Get-SdScheduler Uni'; Expected = 'UniPC' }
    ) {
        $result = TabExpansion2 -inputScript $Typed -cursorColumn $Typed.Length
        $result.CompletionMatches.CompletionText | Should -Contain $Expected
    }
}

Describe 'Invoke-SdGeneration -Scheduler' {
    It 'uses a scheduler for one call and keeps the pipeline''s' {
        $image = Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a' -Scheduler @{ Name = 'DPMSolverMultistep'; use_karras_sigmas = $true } @script:Fast
        $image.Scheduler | Should -Be 'DPMSolverMultistepScheduler'
        "$($script:Pipeline.Scheduler)" | Should -Be 'PNDMScheduler'
    }

    It 'reports an unknown scheduler for the record and goes on' {
        $ErrorActionPreference = 'Continue'
        $errors = [System.Collections.Generic.List[object]]::new()
        $images = @(Invoke-SdGeneration -Pipeline $script:Pipeline -Prompt 'a' -Scheduler 'Eulr' @script:Fast 2>&1 | ForEach-Object { if ($_ -is [System.Management.Automation.ErrorRecord]) { $errors.Add($_) } else { $_ } })
        $images.Count | Should -Be 0
        $errors.Count | Should -Be 1
        $errors[0].Exception.Message | Should -Match 'Unknown scheduler'
    }
}
