BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-SdTestModulePath
    Import-Module $script:ModulePath -Force
    $script:Model = Get-SdFixturePath
    $script:Nightly = Join-Path $PSScriptRoot '..' 'examples' 'nightly'

    # A 12-image job on the fixture: 3 prompts × seeds 10-13 at 64×64.
    function New-TestJob([string] $Folder, [int] $Steps = 6, [string] $Extra = '') {
        New-Item -ItemType Directory -Force $Folder | Out-Null
        $path = Join-Path $Folder 'job.psd1'
        @"
@{
    Model = '$script:Model'
    Provider = 'Cpu'
    Defaults = @{ Steps = $Steps; Width = 64; Height = 64; Seeds = '10-13' }
    Prompts = @(
        'a red fox in the snow'
        'a lighthouse at dawn'
        @{ Prompt = 'a bowl of ramen'; NegativePrompt = 'blurry' }
    )
    OutputDirectory = 'out'
    NameTemplate = '{index:00}-{seed}-{prompt:12}'
    $Extra
}
"@ | Set-Content $path
        $path
    }

    # Starts a job in a separate pwsh process (so that it can be killed) with its output in a file.
    function Start-SdJobProcess([string] $JobPath) {
        $psi = [System.Diagnostics.ProcessStartInfo]::new([Environment]::ProcessPath)
        if ([System.IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { $psi.ArgumentList.Add((Join-Path $PSHOME 'pwsh.dll')) }
        $log = "$JobPath.child.log"
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', "Import-Module '$script:ModulePath'; Invoke-SdRenderJob -Path '$JobPath' *> '$log'") { $psi.ArgumentList.Add($a) }
        $psi.UseShellExecute = $false
        [System.Diagnostics.Process]::Start($psi)
    }

    # SIGKILL: the process gets no chance to clean up anything.
    function Stop-SdHard([System.Diagnostics.Process] $Process) {
        if (-not $Process.HasExited) {
            if ($IsWindows) { $Process.Kill() } else { & kill -9 $Process.Id }
        }
        $Process.WaitForExit(30000) | Out-Null
    }

    function Wait-SdCondition([scriptblock] $Condition, [string] $Because, [int] $Seconds = 180) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out after $Seconds s waiting until $Because." }
            Start-Sleep -Milliseconds 20
        }
    }

    function Get-SdPng([string] $Directory) { @(Get-ChildItem $Directory -Filter *.png -File | Sort-Object Name) }
    # The log's events; a line cut short by a kill is skipped, as any reader of the log would.
    function Get-SdJobLog([string] $Directory) {
        @(Get-Content (Join-Path $Directory 'sd-render.log.jsonl') | ForEach-Object { try { $_ | ConvertFrom-Json } catch { } })
    }

    # The events of the last run in a log (from its last 'start', with a takeover just before it).
    function Get-SdLastRun([string] $Directory) {
        $events = Get-SdJobLog $Directory
        $start = [array]::FindLastIndex([object[]]$events, [Predicate[object]] { param($e) $e.event -eq 'start' })
        while ($start -gt 0 -and $events[$start - 1].event -in 'takeover', 'cleanup') { $start-- }
        $events[$start..($events.Count - 1)]
    }

    function Get-SdProblem($ErrorRecord) { $ErrorRecord.Exception.Problems }

    # The uninterrupted run every other run is compared with.
    $script:RefJob = New-TestJob (Join-Path $TestDrive 'reference')
    $script:RefSummary = Invoke-SdRenderJob -Path $script:RefJob -InformationVariable refLines -InformationAction SilentlyContinue
    $script:RefLines = $refLines
    $script:RefDir = Join-Path $TestDrive 'reference' 'out'
    $script:RefNames = (Get-SdPng $script:RefDir).Name
}

Describe 'Invoke-SdRenderJob: a complete run' {
    It 'renders every image of the job with its parameters and a summary' {
        $script:RefSummary | Should -BeOfType ([StableDiffusion.Jobs.RenderJobSummary])
        $script:RefSummary.Total | Should -Be 12
        $script:RefSummary.Rendered | Should -Be 12
        $script:RefSummary.Skipped | Should -Be 0
        $script:RefSummary.Failed | Should -Be 0
        $script:RefSummary.ImagesPerMinute | Should -BeGreaterThan 0
        $script:RefNames.Count | Should -Be 12
        $script:RefNames[0] | Should -Be '00-10-a-red-fox-in.png'
        $info = Get-SdImageInfo (Join-Path $script:RefDir $script:RefNames[11])
        $info.Prompt | Should -Be 'a bowl of ramen'
        $info.NegativePrompt | Should -Be 'blurry'
        $info.Seed | Should -Be 13
        $info.Steps | Should -Be 6
        $info.Width | Should -Be 64
    }

    It 'shows the summary as a list of its counts' {
        $text = $script:RefSummary | Out-String
        $text | Should -Match 'Rendered\s+: 12'
        $text | Should -Match 'Skipped\s+: 0'
        $text | Should -Match 'Failed\s+: 0'
        $text | Should -Match 'ImagesPerMinute\s+: \d'
    }

    It 'gives the images Invoke-SdGeneration gives for the same settings' {
        $p = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
        try {
            $image = Invoke-SdGeneration -Pipeline $p -Prompt 'a lighthouse at dawn' -Seed 12 -Steps 6 -Width 64 -Height 64
            Get-SdPixelDifference $image.Image (Join-Path $script:RefDir '06-12-a-lighthouse.png') | Should -Be 0
        }
        finally { $p.Dispose() }
    }

    It 'writes readable log lines for a transcript and a JSON-lines log beside the images' {
        $lines = $script:RefLines | ForEach-Object { "$_" }
        $lines | Should -Contain ($lines | Where-Object { $_ -match '^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d render 1/12 00-10-a-red-fox-in\.png seed 10' })
        $lines[-1] | Should -Match 'done: 12 rendered, 0 skipped, 0 failed of 12'
        $events = Get-SdJobLog $script:RefDir
        ($events | Where-Object event -eq 'render').Count | Should -Be 12
        $events[0].event | Should -Be 'start'
        $events[-1].event | Should -Be 'end'
        $events[-1].status | Should -Be 'completed'
    }

    It 'does nothing on a rerun: every image verifies, the model is not even loaded' {
        $before = (Get-SdPng $script:RefDir | ForEach-Object { (Get-FileHash $_.FullName).Hash })
        $summary = Invoke-SdRenderJob -Path $script:RefJob -InformationAction Ignore
        $summary.Rendered | Should -Be 0
        $summary.Skipped | Should -Be 12
        $run = Get-SdLastRun $script:RefDir
        $run.event | Should -Not -Contain 'load'
        $run.event | Should -Not -Contain 'render'
        (Get-SdPng $script:RefDir | ForEach-Object { (Get-FileHash $_.FullName).Hash }) | Should -Be $before
        Test-Path (Join-Path $script:RefDir 'sd-render.lock') | Should -BeFalse
    }

    It 'lists what a run would render with -WhatIf, and writes nothing' {
        $folder = Join-Path $TestDrive 'whatif'
        $job = New-TestJob $folder
        Copy-Item $script:RefDir (Join-Path $folder 'out') -Recurse
        $gone = $script:RefNames[2], $script:RefNames[7], $script:RefNames[11]
        foreach ($name in $gone) { Remove-Item (Join-Path $folder 'out' $name) }
        $log = Get-Content (Join-Path $folder 'out' 'sd-render.log.jsonl') -Raw
        $output = Invoke-SdFreshPwsh -NoProfile -NonInteractive -Command "Import-Module '$script:ModulePath'; Invoke-SdRenderJob -Path '$job' -WhatIf"
        $whatIf = @($output | Where-Object { $_ -match '^What if:.*Render image' })
        $whatIf.Count | Should -Be 3
        foreach ($name in $gone) { ($whatIf -match [regex]::Escape($name)).Count | Should -Be 1 }
        (Get-SdPng (Join-Path $folder 'out')).Count | Should -Be 9
        Test-Path (Join-Path $folder 'out' 'sd-render.lock') | Should -BeFalse
        Get-Content (Join-Path $folder 'out' 'sd-render.log.jsonl') -Raw | Should -Be $log
    }
}

Describe 'Invoke-SdRenderJob: crashes, resumes and locks' {
    It 'resumes a run killed with SIGKILL: renders exactly the missing images, identical to an uninterrupted run' {
        $folder = Join-Path $TestDrive 'killed'
        $job = New-TestJob $folder
        $dir = Join-Path $folder 'out'
        $child = Start-SdJobProcess $job
        try { Wait-SdCondition { (Test-Path $dir) -and (Get-SdPng $dir).Count -ge 4 } 'the first run has saved 4 images' }
        finally { Stop-SdHard $child }

        $survivors = (Get-SdPng $dir).Name
        $survivors.Count | Should -BeLessThan 12 -Because 'the run was killed before the end'
        Test-Path (Join-Path $dir 'sd-render.lock') | Should -BeTrue -Because 'a killed run cannot remove its lock'
        # Atomic writes: every image already there is complete and the uninterrupted run's, byte for byte.
        foreach ($name in $survivors) {
            (Get-FileHash (Join-Path $dir $name)).Hash | Should -Be (Get-FileHash (Join-Path $script:RefDir $name)).Hash
        }
        $missing = @($script:RefNames | Where-Object { $_ -notin $survivors })

        $summary = Invoke-SdRenderJob -Path $job -InformationAction Ignore
        $summary.Skipped | Should -Be $survivors.Count
        $summary.Rendered | Should -Be $missing.Count
        $summary.Failed | Should -Be 0

        $run = Get-SdLastRun $dir
        $takeover = $run | Where-Object event -eq 'takeover'
        $takeover.previous_pid | Should -Be $child.Id
        $takeover.reason | Should -Match "process $($child.Id) on this host"
        (@($run | Where-Object event -eq 'render').file | Sort-Object) | Should -Be ($missing | Sort-Object) -Because 'exactly the missing images are rendered, none twice'

        # Nothing else is left: no temporary file, no lock, only the images and the log.
        (Get-ChildItem $dir -Force).Name | Sort-Object | Should -Be (@($script:RefNames) + 'sd-render.log.jsonl' | Sort-Object)
        foreach ($name in $script:RefNames) {
            (Get-FileHash (Join-Path $dir $name)).Hash | Should -Be (Get-FileHash (Join-Path $script:RefDir $name)).Hash -Because "$name is the uninterrupted run's"
            Get-SdPixelDifference (Join-Path $script:RefDir $name) (Join-Path $dir $name) | Should -Be 0
        }
    }

    It 'stops on Ctrl+C between steps, keeps what is saved, releases the lock, and a rerun completes the job' {
        $folder = Join-Path $TestDrive 'stopped'
        $job = New-TestJob $folder
        $dir = Join-Path $folder 'out'
        $ps = [PowerShell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$script:ModulePath'; Invoke-SdRenderJob -Path '$job' -InformationAction Ignore")
            $null = $ps.BeginInvoke()
            Wait-SdCondition { (Test-Path $dir) -and (Get-SdPng $dir).Count -ge 2 } 'two images are saved'
            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        }
        finally { $ps.Dispose() }
        $saved = (Get-SdPng $dir).Count
        $saved | Should -BeLessThan 12
        Test-Path (Join-Path $dir 'sd-render.lock') | Should -BeFalse -Because 'a stopped run releases its lock'
        (Get-SdJobLog $dir)[-1].status | Should -Be 'cancelled'
        Get-ChildItem $dir -Force -Filter '*.tmp' | Should -BeNullOrEmpty

        $summary = Invoke-SdRenderJob -Path $job -InformationAction Ignore
        $summary.Skipped | Should -Be $saved
        $summary.Rendered | Should -Be (12 - $saved)
        (Get-SdLastRun $dir).event | Should -Not -Contain 'takeover'
    }

    It 'refuses a concurrent run on the same folder with a message naming the run that holds it' {
        $folder = Join-Path $TestDrive 'busy'
        $job = New-TestJob $folder -Steps 40
        $dir = Join-Path $folder 'out'
        $child = Start-SdJobProcess $job
        try {
            Wait-SdCondition { Test-Path (Join-Path $dir 'sd-render.log.jsonl') } 'the first run holds the lock and has started'
            $out = Invoke-SdRenderJob -Path $job -ErrorVariable err -ErrorAction SilentlyContinue -InformationAction Ignore
            $out | Should -BeNullOrEmpty
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'OutputDirectoryLocked*'
            $err[0].CategoryInfo.Category | Should -Be 'ResourceBusy'
            $err[0].Exception.Message | Should -Match "is in use by another render job: process $($child.Id) on host '$([regex]::Escape([Environment]::MachineName))'"
            $err[0].Exception.Message | Should -Match "job 'job\.psd1'"
            # The holder keeps its lock and goes on.
            (Get-Content (Join-Path $dir 'sd-render.lock') -Raw | ConvertFrom-Json).pid | Should -Be $child.Id
            $child.HasExited | Should -BeFalse
        }
        finally { Stop-SdHard $child }
    }

    It 'trusts metadata, not names: replaces an outdated or damaged image, never a file no job wrote' {
        $folder = Join-Path $TestDrive 'verify'
        $job = New-TestJob $folder
        $dir = Join-Path $folder 'out'
        Copy-Item $script:RefDir $dir -Recurse
        $outdated, $damaged, $foreign = $script:RefNames[1], $script:RefNames[5], $script:RefNames[9]
        # Another image of the job under this name: right name, wrong identity.
        Copy-Item (Join-Path $dir $script:RefNames[0]) (Join-Path $dir $outdated) -Force
        # One flipped bit in the pixel data.
        $bytes = [System.IO.File]::ReadAllBytes((Join-Path $dir $damaged))
        $at = [System.Text.Encoding]::Latin1.GetString($bytes).IndexOf('IDAT') + 40
        $bytes[$at] = $bytes[$at] -bxor 1
        [System.IO.File]::WriteAllBytes((Join-Path $dir $damaged), $bytes)
        # A PNG of the user's, not written by a job.
        $p = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu
        try { Invoke-SdGeneration -Pipeline $p -Prompt 'mine' -Seed 1 -Steps 2 -Width 64 -Height 64 | Save-SdImage -Path (Join-Path $dir $foreign) -Force }
        finally { $p.Dispose() }
        $foreignHash = (Get-FileHash (Join-Path $dir $foreign)).Hash

        $summary = Invoke-SdRenderJob -Path $job -ErrorVariable err -ErrorAction SilentlyContinue -InformationAction Ignore
        $summary.Rendered | Should -Be 2
        $summary.Replaced | Should -Be 2
        $summary.Skipped | Should -Be 9
        $summary.Failed | Should -Be 1
        $summary.Failures[0].File | Should -Be $foreign
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RenderFailed*'
        "$err" | Should -Match 'was not written by a render job'
        (Get-FileHash (Join-Path $dir $foreign)).Hash | Should -Be $foreignHash -Because "the user's file is left alone"
        foreach ($name in $outdated, $damaged) {
            (Get-FileHash (Join-Path $dir $name)).Hash | Should -Be (Get-FileHash (Join-Path $script:RefDir $name)).Hash
        }
        $replaced = Get-SdLastRun $dir | Where-Object event -eq 'render'
        ($replaced | Where-Object file -eq $outdated).replaced | Should -Be 'outdated'
        ($replaced | Where-Object file -eq $damaged).replaced | Should -Be 'damaged'
    }

    It 'retries a failing image once, records it, and renders the rest' {
        $folder = Join-Path $TestDrive 'failing'
        New-Item -ItemType Directory $folder | Out-Null
        $job = Join-Path $folder 'job.psd1'
        # 72 pixels is a multiple of 8, so the job is valid, but the fixture's UNet needs multiples of 16: it fails.
        @"
@{
    Model = '$script:Model'
    Provider = 'Cpu'
    Defaults = @{ Steps = 2; Width = 64; Height = 64; Seeds = 1 }
    Prompts = @( 'first', @{ Prompt = 'too wide'; Width = 72 }, 'last' )
    OutputDirectory = 'out'
}
"@ | Set-Content $job
        $summary = Invoke-SdRenderJob -Path $job -ErrorVariable err -ErrorAction SilentlyContinue -InformationAction Ignore
        $summary.Rendered | Should -Be 2
        $summary.Failed | Should -Be 1
        $summary.Succeeded | Should -BeFalse
        $summary.Failures[0].Source | Should -Be 'Prompts[1]'
        $summary.Failures[0].Attempts | Should -Be 2
        $err.Count | Should -Be 1
        $err[0].ErrorDetails.Message | Should -Match "Image 1 '0001-1.png' \(seed 1, Prompts\[1\]\) failed after 2 attempt"
        $events = Get-SdLastRun (Join-Path $folder 'out')
        ($events | Where-Object { $_.event -in 'render', 'retry', 'fail' }).event | Should -Be @('render', 'retry', 'fail', 'render')
        (Get-SdPng (Join-Path $folder 'out')).Name | Should -Be @('0000-1.png', '0002-1.png')
    }
}

Describe 'Invoke-SdRenderJob: bad job files' {
    It 'rejects a job with many problems in one error that lists each with its key path and line' {
        $folder = Join-Path $TestDrive 'bad-many'
        New-Item -ItemType Directory $folder | Out-Null
        $blocker = Join-Path $folder 'a-file'
        Set-Content $blocker 'not a folder'
        $job = Join-Path $folder 'bad.psd1'
        @"
@{
    Model = '$script:Model'
    Sheduler = 'Euler'
    Provider = 'Gpu'
    Defaults = @{
        Stpes = 20
        Width = 'wide'
        Height = 100
        Seeds = '5-1'
    }
    Prompts = @(
        'fine'
        @{ Prompt = 'bad seed'; Seeds = 'abc'; GuidanceScale = 'high'; Scheduler = 'Eulr' }
        42
    )
    PromptFile = 'missing.txt'
    OutputDirectory = '$blocker/out'
}
"@ | Set-Content $job
        Invoke-SdRenderJob -Path $job -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidJobFile*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $expected = @(
            @{ Location = 'Sheduler'; Line = 3; Message = "Unknown key 'Sheduler'. Did you mean 'Scheduler'?" }
            @{ Location = 'Provider'; Line = 4; Message = "*one of Auto, Cpu, Cuda; it is 'Gpu'*" }
            @{ Location = 'Defaults.Stpes'; Line = 6; Message = "Unknown key 'Stpes'. Did you mean 'Steps'?" }
            @{ Location = 'Defaults.Width'; Line = 7; Message = "*whole number; it is the text 'wide'*" }
            @{ Location = 'Defaults.Height'; Line = 8; Message = '*multiple of 8*it is 100. Try 96 or 104*' }
            @{ Location = 'Defaults.Seeds'; Line = 9; Message = "*'5-1' runs backwards*" }
            @{ Location = 'Prompts[1].Seeds'; Line = 13; Message = "*'abc' is not a seed*" }
            @{ Location = 'Prompts[1].GuidanceScale'; Line = 13; Message = "*must be a number; it is the text 'high'*" }
            @{ Location = 'Prompts[1].Scheduler'; Line = 13; Message = "*Unknown scheduler 'Eulr'. Closest names: Euler*" }
            @{ Location = 'Prompts[2]'; Line = 14; Message = '*text or a table*the number 42*' }
            @{ Location = 'PromptFile'; Line = 16; Message = '*missing.txt* does not exist*' }
            @{ Location = 'OutputDirectory'; Line = 17; Message = '*cannot be created*a-file* is a file*' }
        )
        $problems = Get-SdProblem $err[0]
        ($problems | ForEach-Object { "$_" }) -join "`n" | Should -Not -BeNullOrEmpty
        $problems.Count | Should -Be $expected.Count -Because (($problems | ForEach-Object { "$_" }) -join "`n")
        foreach ($e in $expected) {
            $p = @($problems | Where-Object Location -EQ $e.Location)
            $p.Count | Should -BeGreaterOrEqual 1 -Because "a problem at $($e.Location) is expected"
            ($p | Where-Object { $_.Message -like $e.Message }) | Should -Not -BeNullOrEmpty -Because "$($e.Location): '$($p.Message)' should be like '$($e.Message)'"
            $p[0].Line | Should -Be $e.Line
        }
        $err[0].Exception.Message | Should -Match "has 12 problems; nothing was rendered"
        $err[0].Exception.Message | Should -Match ([regex]::Escape("Defaults.Stpes (line 6): Unknown key 'Stpes'. Did you mean 'Steps'?"))
        Test-Path (Join-Path $blocker 'out') | Should -BeFalse
    }

    It 'rejects a job with missing keys' {
        $job = Join-Path $TestDrive 'empty.psd1'
        '@{ }' | Set-Content $job
        Invoke-SdRenderJob -Path $job -ErrorVariable err -ErrorAction SilentlyContinue
        (Get-SdProblem $err[0]).Location | Sort-Object | Should -Be @('Model', 'OutputDirectory', 'Prompts')
        "$err" | Should -Match 'Model is required: the folder of a diffusers ONNX export'
        "$err" | Should -Match 'The job has no prompts'
    }

    It 'rejects a prompt CSV file naming each bad row by line and column' {
        $folder = Join-Path $TestDrive 'bad-csv'
        New-Item -ItemType Directory $folder | Out-Null
        @'
Prompt,Stesp,Steps,Seeds,Width
a cat,x,ten,1,64
,x,20,2,64
a dog,x,20,-3,64
a fox,x,20,4
an owl,x,20,5,65
"a ""quoted"", fine row",,,6,
'@ | Set-Content (Join-Path $folder 'prompts.csv')
        @"
@{ Model = '$script:Model'; PromptFile = 'prompts.csv'; OutputDirectory = 'out'; Defaults = @{ Seeds = 1 } }
"@ | Set-Content (Join-Path $folder 'job.psd1')
        Invoke-SdRenderJob -Path (Join-Path $folder 'job.psd1') -ErrorVariable err -ErrorAction SilentlyContinue
        $problems = Get-SdProblem $err[0]
        $problems.Count | Should -Be 6 -Because (($problems | ForEach-Object { "$_" }) -join "`n")
        $problems[0].Location | Should -Be "prompts.csv line 1, column 'Stesp'"
        $problems[0].Message | Should -Be "Unknown column 'Stesp'. Did you mean 'Steps'?"
        "$($problems[1])" | Should -Be "prompts.csv line 2, column 'Steps': Steps must be a whole number; it is the text 'ten'."
        $problems[2].Location | Should -Be "prompts.csv line 3, column 'Prompt'"
        $problems[3].Location | Should -Be "prompts.csv line 4, column 'Seeds'"
        $problems[4].Location | Should -Be 'prompts.csv line 5'
        $problems[4].Message | Should -Match 'has 4 fields but the header has 5'
        $problems[5].Location | Should -Be "prompts.csv line 6, column 'Width'"
    }

    It 'rejects JSON job files: a syntax error with its line, problems with their key paths and lines' {
        $folder = Join-Path $TestDrive 'bad-json'
        New-Item -ItemType Directory $folder | Out-Null
        $model = $script:Model | ConvertTo-Json
        "{`n  `"Model`": $model,`n  `"Prompts`": [ `"a`" `n}" | Set-Content (Join-Path $folder 'syntax.json')
        Invoke-SdRenderJob -Path (Join-Path $folder 'syntax.json') -ErrorVariable err -ErrorAction SilentlyContinue
        $problem = Get-SdProblem $err[0]
        $problem.Message | Should -Match 'not valid JSON'
        $problem.Line | Should -Be 4

        @"
{
  "Model": $model,
  "OutputDirectory": "out",
  "Defaults": { "Steps": "20", "Seeds": [1, 2] },
  "Prompts": [ "a", { "Prompt": "b", "Width": 60 } ],
  "Schedular": "Euler"
}
"@ | Set-Content (Join-Path $folder 'job.json')
        Invoke-SdRenderJob -Path (Join-Path $folder 'job.json') -ErrorVariable err -ErrorAction SilentlyContinue
        $problems = Get-SdProblem $err[0]
        ($problems | ForEach-Object { "$_" }) | Should -Be @(
            "Defaults.Steps (line 4): Steps must be a whole number; it is the text '20'."
            'Prompts[1].Width (line 5): Width must be a multiple of 8 (the VAE works on 8×8 pixel blocks); it is 60. Try 56 or 64.'
            "Schedular (line 6): Unknown key 'Schedular'. Did you mean 'Scheduler'?"
        )
    }

    It 'reads a .psd1 job as data and never runs it' {
        $marker = Join-Path $TestDrive 'ran.txt'
        $job = Join-Path $TestDrive 'code.psd1'
        @"
@{
    Model = '$script:Model'
    OutputDirectory = (Join-Path `$HOME 'x')
    Prompts = @( "a `$(New-Item -Path '$marker')" )
    Defaults = @{ Seeds = 1 }
}
"@ | Set-Content $job
        Invoke-SdRenderJob -Path $job -ErrorVariable err -ErrorAction SilentlyContinue
        Test-Path $marker | Should -BeFalse
        $problems = Get-SdProblem $err[0]
        $problems.Location | Should -Be @('OutputDirectory', 'Prompts[0]')
        $problems[0].Line | Should -Be 3
        $problems[0].Message | Should -Match 'is not data'
        $problems[1].Message | Should -Match 'expands variables'

        '@{ Model = "x"' | Set-Content $job
        Invoke-SdRenderJob -Path $job -ErrorVariable err -ErrorAction SilentlyContinue
        (Get-SdProblem $err[0])[0].Line | Should -Be 1
    }

    It 'validates before any model loads' {
        $broken = New-SdBrokenModel (Join-Path $TestDrive 'broken-model') -Corrupt 'unet'
        $folder = Join-Path $TestDrive 'before-load'
        New-Item -ItemType Directory $folder | Out-Null
        $job = Join-Path $folder 'job.psd1'
        "@{ Model = '$broken'; Prompts = 'a'; Defaults = @{ Seeds = 1; Stpes = 2 }; OutputDirectory = 'out' }" | Set-Content $job
        Invoke-SdRenderJob -Path $job -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidJobFile*' -Because 'the job is checked before the (corrupt) model is loaded'
        (Get-SdProblem $err[0]).Location | Should -Be 'Defaults.Stpes'

        # Once the job is right, the corrupt UNet stops the run; the lock is released and the log says why.
        "@{ Model = '$broken'; Prompts = 'a'; Defaults = @{ Seeds = 1; Steps = 2; Width = 64; Height = 64 }; OutputDirectory = 'out' }" | Set-Content $job
        Invoke-SdRenderJob -Path $job -ErrorVariable err -ErrorAction SilentlyContinue -InformationAction Ignore | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'Model*'
        Test-Path (Join-Path $folder 'out' 'sd-render.lock') | Should -BeFalse
        (Get-SdJobLog (Join-Path $folder 'out'))[-1].status | Should -Be 'error'
    }
}

Describe 'examples/nightly' {
    BeforeAll {
        # The example job, pointed at the fixture and made small, written as JSON (the other format jobs take).
        $script:NightlyFolder = Join-Path $TestDrive 'nightly'
        New-Item -ItemType Directory $script:NightlyFolder | Out-Null
        Copy-Item (Join-Path $script:Nightly 'nightly-prompts.csv') $script:NightlyFolder
        $definition = Import-PowerShellDataFile (Join-Path $script:Nightly 'nightly.psd1')
        $definition.Model = $script:Model
        $definition.Provider = 'Cpu'
        $definition.Defaults.Width = 64
        $definition.Defaults.Height = 64
        $definition.Defaults.Steps = 3
        $script:NightlyJob = Join-Path $script:NightlyFolder 'nightly.json'
        $definition | ConvertTo-Json -Depth 8 | Set-Content $script:NightlyJob
        $script:Wrapper = Join-Path $script:Nightly 'Invoke-NightlyRender.ps1'
        function Invoke-SdWrapper([string] $Job) {
            $logs = Join-Path $TestDrive 'nightly-logs'
            $output = Invoke-SdFreshPwsh -NoProfile -NonInteractive -File $script:Wrapper -JobPath $Job -Module $script:ModulePath -TranscriptDirectory $logs 2>&1
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = $output -join "`n"; Transcript = Get-ChildItem $logs | Sort-Object LastWriteTime | Select-Object -Last 1 }
        }
    }

    It 'the example job renders through the wrapper, which exits 0' {
        $r = Invoke-SdWrapper $script:NightlyJob
        $r.ExitCode | Should -Be 0 -Because $r.Output
        # Lighthouse: 4 seeds; fox: 2 seeds; CSV rows: 4 (the defaults' seeds) + 2 + 1.
        $files = Get-SdPng (Join-Path $script:NightlyFolder 'renders')
        $files.Count | Should -Be 13
        $fox = $files | Get-SdImageInfo | Where-Object Prompt -Like 'a red fox*'
        $fox.Seed | Should -Be @(7, 42)
        $fox.Steps | Should -Be @(30, 30)
        $fox[0].Scheduler.Name | Should -Be 'DPMSolverMultistepScheduler'
        $city = $files | Get-SdImageInfo | Where-Object Prompt -Like 'a city street*'
        $city.NegativePrompt | Should -Be @('cartoon, illustration', 'cartoon, illustration')
        Get-Content $r.Transcript.FullName -Raw | Should -Match 'render 13/13'
        Get-Content $r.Transcript.FullName -Raw | Should -Match 'Exit code 0'
    }

    It 'exits 1 when an image failed, 2 when the job cannot run, 3 when the folder is locked' {
        $folder = Join-Path $TestDrive 'nightly-codes'
        New-Item -ItemType Directory $folder | Out-Null
        $failing = Join-Path $folder 'failing.psd1'
        "@{ Model = '$script:Model'; Provider = 'Cpu'; Prompts = @('ok', @{ Prompt = 'too wide'; Width = 72 }); Defaults = @{ Seeds = 1; Steps = 2; Width = 64; Height = 64 }; OutputDirectory = 'failing' }" |
            Set-Content $failing
        (Invoke-SdWrapper $failing).ExitCode | Should -Be 1

        $bad = Join-Path $folder 'bad.psd1'
        "@{ Model = '$script:Model'; Prompts = 'a'; OutputDirectory = 'bad'; Defaults = @{ Seeds = 1; Stpes = 3 } }" | Set-Content $bad
        $r = Invoke-SdWrapper $bad
        $r.ExitCode | Should -Be 2
        Get-Content $r.Transcript.FullName -Raw | Should -Match "Did you mean 'Steps'"

        # A lock held by a live process on this host (this one).
        $locked = Join-Path $folder 'locked'
        New-Item -ItemType Directory $locked | Out-Null
        @{ pid = $PID; host = [Environment]::MachineName; user = 'test'; job = 'other.psd1'; started = [DateTime]::UtcNow.ToString('o'); heartbeat = [DateTime]::UtcNow.ToString('o'); token = 'x' } |
            ConvertTo-Json | Set-Content (Join-Path $locked 'sd-render.lock')
        $job = Join-Path $folder 'locked.psd1'
        "@{ Model = '$script:Model'; Prompts = 'a'; OutputDirectory = 'locked'; Defaults = @{ Seeds = 1 } }" | Set-Content $job
        $r = Invoke-SdWrapper $job
        $r.ExitCode | Should -Be 3
        Get-Content $r.Transcript.FullName -Raw | Should -Match "in use by another render job: process $PID"
    }

    It 'Register-NightlyRenderTask.ps1 registers a daily task that runs the wrapper non-interactively' {
        # Stand-ins for the ScheduledTasks module (Windows only), seen by the script through PowerShell's dynamic scoping.
        $captured = @{}
        function New-ScheduledTaskAction($Execute, $Argument, $WorkingDirectory) { [pscustomobject]@{ Execute = $Execute; Argument = $Argument; WorkingDirectory = $WorkingDirectory } }
        function New-ScheduledTaskTrigger([switch] $Daily, [datetime] $At) { [pscustomobject]@{ Daily = $Daily.IsPresent; At = $At } }
        function New-ScheduledTaskSettingsSet([switch] $StartWhenAvailable, $MultipleInstances, $ExecutionTimeLimit, [switch] $AllowStartIfOnBatteries, [switch] $DontStopIfGoingOnBatteries) {
            [pscustomobject]@{ StartWhenAvailable = $StartWhenAvailable.IsPresent; MultipleInstances = $MultipleInstances; ExecutionTimeLimit = $ExecutionTimeLimit }
        }
        function New-ScheduledTaskPrincipal($UserId, $LogonType, $RunLevel) { [pscustomobject]@{ UserId = $UserId; LogonType = $LogonType } }
        function Register-ScheduledTask($TaskName, $TaskPath, $Action, $Trigger, $Settings, $Description, $Force, $Principal, $User, $Password) {
            $captured.Task = [hashtable]$PSBoundParameters
        }

        $job = Join-Path $script:Nightly 'nightly.psd1'
        & (Join-Path $script:Nightly 'Register-NightlyRenderTask.ps1') -JobPath $job -At '02:30' -PwshPath '/opt/pwsh/pwsh' -WhatIf
        $captured.Task | Should -BeNullOrEmpty -Because '-WhatIf registers nothing'

        & (Join-Path $script:Nightly 'Register-NightlyRenderTask.ps1') -JobPath $job -At '02:30' -PwshPath '/opt/pwsh/pwsh'
        $splat = $captured.Task
        $splat | Should -Not -BeNullOrEmpty
        $splat.TaskName | Should -Be 'StableDiffusion nightly render'
        $splat.Action.Execute | Should -Be '/opt/pwsh/pwsh'
        $splat.Action.Argument | Should -BeLike '-NoProfile -NonInteractive *'
        $splat.Action.Argument | Should -BeLike "*-File `"$((Resolve-Path (Join-Path $script:Nightly 'Invoke-NightlyRender.ps1')).ProviderPath)`"*"
        $splat.Action.Argument | Should -BeLike "*-JobPath `"$((Resolve-Path $job).ProviderPath)`""
        $splat.Action.WorkingDirectory | Should -Be (Resolve-Path $script:Nightly).ProviderPath
        $splat.Trigger.Daily | Should -BeTrue
        $splat.Trigger.At.ToString('HH:mm') | Should -Be '02:30'
        $splat.Settings.StartWhenAvailable | Should -BeTrue
        $splat.Settings.MultipleInstances | Should -Be 'IgnoreNew'
        $splat.Settings.ExecutionTimeLimit | Should -Be ([timespan]::FromHours(8))
        $splat.Principal.LogonType | Should -Be 'S4U'
    }
}
