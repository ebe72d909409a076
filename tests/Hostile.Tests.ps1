# Issue 13's hostile-input suite: runs every case that tests/Hostile/*.Cases.ps1 outputs and asserts, for each, a specific
# FullyQualifiedErrorId (never a bare .NET exception type), a category other than NotSpecified, the target object set,
# nothing written to the output folder, and the process still working. The case format is in tests/Hostile/README.md.
# Cases run in this process, one after another: a case that kills the process fails the whole run, which is the point.

BeforeDiscovery {
    $caseFolder = Join-Path $PSScriptRoot 'Hostile'
    $caseFiles = @(Get-ChildItem $caseFolder -Filter '*.Cases.ps1' -File -ErrorAction Stop | Sort-Object Name)
    if ($caseFiles.Count -eq 0) { throw "No hostile case files (*.Cases.ps1) in $caseFolder." }
    $script:Cases = @(foreach ($file in $caseFiles) {
        foreach ($case in @(& $file.FullName)) {
            if ($case -isnot [hashtable]) { throw "$($file.Name) output a $($case.GetType().Name), not a case hashtable: '$case'." }
            $case + @{ File = $file.BaseName -replace '\.Cases$', '' }
        }
    })
    $script:CaseFiles = @($caseFiles | ForEach-Object {
        $file = $_.BaseName -replace '\.Cases$', ''
        @{ File = $file; Count = @($script:Cases | Where-Object { $_.File -eq $file }).Count }
    })
    # Discovery's variables are gone when the tests run: the list tests get the cases as their data.
    $script:CaseList = @(@{ Cases = $script:Cases; Files = $script:CaseFiles })
}

BeforeAll {
    # The case files' own helper functions (e.g. a row or job-file builder their scripts call) for the run phase; the
    # cases they output were read at discovery.
    foreach ($file in Get-ChildItem (Join-Path $PSScriptRoot 'Hostile') -Filter '*.Cases.ps1' -File) { $null = . $file.FullName }
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-SdTestModulePath) -Force
    $script:Model = Get-SdFixturePath
    $script:Fixtures = Split-Path $script:Model -Parent
    $script:Pipeline = New-SdPipeline -Path $script:Model -ExecutionProvider Cpu

    # Names of every exception type loaded, with and without the 'Exception' suffix: an error id that is one of them
    # is the generic fallback (ErrorRecords.From names an unexpected exception by its type), not a specific id. The
    # module's own exception types are named after their problem (PipelineDisposedException → 'PipelineDisposed'):
    # not counted.
    $script:ExceptionTypeNames = [System.Collections.Generic.HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)
    foreach ($assembly in [AppDomain]::CurrentDomain.GetAssemblies()) {
        try { $types = $assembly.GetExportedTypes() } catch { continue }   # dynamic or partly loadable assemblies
        foreach ($type in $types) {
            if (($type.IsSubclassOf([Exception]) -or $type -eq [Exception]) -and $type.Namespace -notlike 'StableDiffusion*') {
                [void]$script:ExceptionTypeNames.Add($type.Name)
                [void]$script:ExceptionTypeNames.Add(($type.Name -replace 'Exception$', ''))
            }
        }
    }

    # The id's first part (before the command's type name) when it names a .NET exception type instead of the problem.
    # An id the module chose for one of its own exceptions may coincide with a .NET type's name ('InsufficientMemory'
    # for InsufficientMemoryForBatchException): given the record's exception, that one is not the fallback.
    function Get-SdBareExceptionId([string] $FullyQualifiedErrorId, [Exception] $Exception = $null) {
        $first = ($FullyQualifiedErrorId -split ',')[0].Trim()
        if ($first -match '^(System|Microsoft)\.' -or $first -match 'Exception$') { return $first }
        $own = $Exception -and $Exception.GetType().Namespace -like 'StableDiffusion*' -and ($Exception.GetType().Name -replace 'Exception$', '') -ne $first
        if (-not $own -and $script:ExceptionTypeNames.Contains($first)) { return $first }
        $null
    }

    # Runs a case's script as a command with -ErrorAction Stop and -ErrorVariable: a terminating error, a non-terminating
    # one escalated by Stop, and one written while Stop was not honoured all come back; the first one is the case's.
    function Invoke-SdHostileScript([scriptblock] $Script, $Context) {
        $collected = @()
        $caught = $null
        $output = $null
        try {
            $output = & { [CmdletBinding()] param($ctx, $body) & $body $ctx } -ctx $Context -body $Script -ErrorAction Stop -ErrorVariable collected
        }
        catch {
            $caught = $_
            # A non-terminating error escalated by -ErrorAction Stop: the record the cmdlet wrote is inside.
            if ($caught.Exception -is [System.Management.Automation.ActionPreferenceStopException] -and $caught.Exception.ErrorRecord) {
                $caught = $caught.Exception.ErrorRecord
            }
        }
        [pscustomobject]@{
            Error  = if ($caught) { $caught } else { @($collected)[0] }
            Output = @($output)
        }
    }
}

AfterAll {
    if ($script:Pipeline) { $script:Pipeline.Dispose() }
}

Describe 'The hostile-input case list' {
    It 'has unique case names across every file' -ForEach $script:CaseList {
        $duplicates = @($Cases | Group-Object { $_.Name } | Where-Object Count -gt 1 | ForEach-Object Name)
        $duplicates | Should -BeNullOrEmpty -Because 'each case is reported by its name'
    }

    It '<File>.Cases.ps1 gives at least one case (<Count>)' -ForEach $script:CaseFiles {
        $Count | Should -BeGreaterThan 0
    }

    It 'has well-formed cases: Name, ErrorId, a Category that is an ErrorCategory other than NotSpecified, a Script' -ForEach $script:CaseList {
        $Cases.Count | Should -BeGreaterThan 0
        $problems = foreach ($case in $Cases) {
            $category = $null
            if ([string]::IsNullOrWhiteSpace($case.Name)) { "a case in $($case.File) has no Name" }
            if ([string]::IsNullOrWhiteSpace($case.ErrorId)) { "$($case.Name): no ErrorId" }
            if (-not [Enum]::TryParse([System.Management.Automation.ErrorCategory], [string]$case.Category, $true, [ref]$category) -or
                $category -eq 'NotSpecified') { "$($case.Name): Category '$($case.Category)' is not an ErrorCategory other than NotSpecified" }
            if ($case.Script -isnot [scriptblock]) { "$($case.Name): Script is not a script block" }
            foreach ($optional in 'Target', 'Setup') {
                if ($case.ContainsKey($optional) -and $case[$optional] -isnot [scriptblock]) { "$($case.Name): $optional is not a script block" }
            }
            foreach ($key in $case.Keys) {
                if ($key -notin 'Name', 'ErrorId', 'Category', 'Script', 'Target', 'Setup', 'File') { "$($case.Name): unknown key '$key'" }
            }
        }
        @($problems) | Should -BeNullOrEmpty
    }

    It 'counts the cases (issue 13 asks for 60 or more in all)' -ForEach $script:CaseList {
        Write-Host "Hostile-input cases: $($Cases.Count) in all ($(($Files | ForEach-Object { "$($_.File) $($_.Count)" }) -join ', '))."
        $Cases.Count | Should -Be (($Files | ForEach-Object { $_.Count }) | Measure-Object -Sum).Sum
        $Cases.Count | Should -BeGreaterOrEqual 60 -Because 'issue 13 asks for a hostile-input suite of 60 cases or more'
    }
}

Describe "The runner's own checks" {
    It 'tells whether <Id> is a bare .NET exception id (<Bare>)' -ForEach @(
        @{ Id = 'System.ArgumentException,StableDiffusion.PowerShell.Commands.InvokeSdGenerationCommand'; Bare = $true }
        @{ Id = 'MethodInvocationException'; Bare = $true }
        @{ Id = 'RuntimeException'; Bare = $true }
        @{ Id = 'InvalidOperation,StableDiffusion.PowerShell.Commands.SaveSdImageCommand'; Bare = $true }
        @{ Id = 'DriveNotFound,StableDiffusion.PowerShell.Commands.SaveSdImageCommand'; Bare = $true }
        @{ Id = 'NullReference,StableDiffusion.PowerShell.Commands.SaveSdImageCommand'; Bare = $true }
        @{ Id = 'InvalidStrength,StableDiffusion.PowerShell.Commands.InvokeSdGenerationCommand'; Bare = $false }
        @{ Id = 'ModelFolderNotFound,StableDiffusion.PowerShell.Commands.NewSdPipelineCommand'; Bare = $false }
        @{ Id = 'InvalidJobFile,StableDiffusion.PowerShell.Commands.InvokeSdRenderJobCommand'; Bare = $false }
    ) {
        [bool](Get-SdBareExceptionId $Id) | Should -Be $Bare
    }

    It "accepts an id the module chose for its own exception even where a .NET type has that name" {
        $own = [StableDiffusion.Pipeline.PipelineDisposedException]::new('x', $false)
        Get-SdBareExceptionId 'InsufficientMemory,StableDiffusion.PowerShell.Commands.InvokeSdGenerationCommand' $own | Should -BeNullOrEmpty
        Get-SdBareExceptionId 'InsufficientMemory,StableDiffusion.PowerShell.Commands.InvokeSdGenerationCommand' ([InsufficientMemoryException]::new()) |
            Should -Be 'InsufficientMemory'
        Get-SdBareExceptionId 'InvalidOperation,X' ([InvalidOperationException]::new()) | Should -Be 'InvalidOperation'
    }

    It 'catches an error written non-terminating, and stops the script there' {
        $run = Invoke-SdHostileScript { param($ctx) Write-Error -Message 'bad' -ErrorId 'ProbeError' -Category InvalidData -TargetObject 7; 'went on' } $null
        $run.Error.FullyQualifiedErrorId | Should -BeLike 'ProbeError*'
        $run.Error.CategoryInfo.Category | Should -Be 'InvalidData'
        $run.Error.TargetObject | Should -Be 7
        $run.Output | Should -BeNullOrEmpty
    }

    It "catches a cmdlet's terminating error with its own id" {
        $run = Invoke-SdHostileScript { param($ctx) Invoke-SdGeneration -Pipeline $ctx -Prompt 'x' -BatchSize 0 } $script:Pipeline
        $run.Error.FullyQualifiedErrorId | Should -BeLike 'InvalidBatchSize,*'
    }

    It 'gives no error for a script that succeeds' {
        $run = Invoke-SdHostileScript { param($ctx) Get-SdScheduler -Name 'Euler' } $null
        $run.Error | Should -BeNullOrEmpty
        $run.Output | Should -Not -BeNullOrEmpty
    }
}

Describe 'Hostile input' {
    BeforeEach {
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive ([guid]::NewGuid().ToString('n')))
        $script:Context = [pscustomobject]@{
            Model    = $script:Model
            Pipeline = $script:Pipeline
            Inputs   = (New-Item -ItemType Directory (Join-Path $folder 'inputs')).FullName
            Output   = (New-Item -ItemType Directory (Join-Path $folder 'output')).FullName
            Fixtures = $script:Fixtures
        }
        $script:StartLocation = Get-Location
    }

    AfterEach {
        Set-Location $script:StartLocation
        Remove-Item (Split-Path $script:Context.Output -Parent) -Recurse -Force -ErrorAction SilentlyContinue
    }

    It '<File>: <Name>' -ForEach $script:Cases {
        $ctx = $script:Context
        if ($Setup) { & $Setup $ctx }

        $run = Invoke-SdHostileScript $Script $ctx
        $record = $run.Error

        $record | Should -Not -BeNullOrEmpty -Because 'hostile input must give an error record'
        $record | Should -BeOfType [System.Management.Automation.ErrorRecord]
        $id = $record.FullyQualifiedErrorId
        $message = $record.Exception.Message
        $id | Should -BeLike $ErrorId -Because "the error must be the specific one ($message)"
        Get-SdBareExceptionId $id $record.Exception | Should -BeNullOrEmpty -Because "the id '$id' must name the problem, not a .NET exception type"
        $record.CategoryInfo.Category | Should -Not -Be ([System.Management.Automation.ErrorCategory]::NotSpecified)
        $record.CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]$Category)
        $message | Should -Not -BeNullOrEmpty
        if ($Target) {
            & $Target $record.TargetObject $ctx | Should -BeTrue -Because "the target object ('$($record.TargetObject)') must be the one at fault"
        }
        else {
            $record.TargetObject | Should -Not -BeNullOrEmpty -Because 'the error must name its target object'
        }

        $written = @(Get-ChildItem -LiteralPath $ctx.Output -Recurse -Force | ForEach-Object FullName)
        $written | Should -BeNullOrEmpty -Because 'nothing partial may be written'

        # Still alive and usable: a cheap cmdlet call works and the shared pipeline was not disposed.
        @(Get-SdScheduler).Count | Should -BeGreaterThan 0
        $ctx.Pipeline.IsDisposed | Should -BeFalse -Because 'a case must not dispose the shared pipeline'
    }
}
