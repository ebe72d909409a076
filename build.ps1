#requires -Version 7.4
<#
.SYNOPSIS
    Builds, lays out, tests and demonstrates the StableDiffusion module (an Invoke-Build-style task script).
.DESCRIPTION
    Tasks:
      Build  (default) dotnet build Release, then lay out the importable module at out/StableDiffusion from an allow-list.
      Test   Build, then the xunit tests and the Pester tests (in a fresh pwsh), then one line 'N passed, N failed'.
      Demo   Build, then generate an image with the fixture model (../shared/fixtures/tiny-sd) and save it as out/demo.png.
      Clean  Remove out/ and the bin/obj folders.
.EXAMPLE
    dotnet pwsh ./build.ps1
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Demo', 'Clean')]
    [string[]] $Task = @('Build'),
    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',
    # Model folder for the Demo task.
    [string] $ModelPath = (Join-Path $PSScriptRoot '..' 'shared' 'fixtures' 'tiny-sd')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
$out = Join-Path $root 'out'
$moduleDir = Join-Path $out 'StableDiffusion'
$rid = [System.Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier

# A fresh pwsh like this one: the local dotnet tool runs as 'dotnet pwsh.dll', an installed pwsh as itself.
function Invoke-FreshPwsh {
    $host_ = [Environment]::ProcessPath
    if ([System.IO.Path]::GetFileNameWithoutExtension($host_) -eq 'dotnet') { & $host_ (Join-Path $PSHOME 'pwsh.dll') @args }
    else { & $host_ @args }
}

function Invoke-Native([string] $what, [scriptblock] $command) {
    Write-Host "==> $what" -ForegroundColor Cyan
    & $command
    if ($LASTEXITCODE -ne 0) { throw "$what failed (exit code $LASTEXITCODE)." }
}

function Invoke-Clean {
    foreach ($dir in @($out) + (Get-ChildItem $root -Recurse -Directory -Include bin, obj -ErrorAction SilentlyContinue).FullName) {
        if ($dir -and (Test-Path $dir)) { Remove-Item $dir -Recurse -Force }
    }
}

function Invoke-BuildModule {
    $publish = Join-Path $out 'publish'
    Invoke-Native "dotnet publish ($Configuration, $rid)" {
        dotnet publish (Join-Path $root 'src/StableDiffusion.PowerShell/StableDiffusion.PowerShell.csproj') `
            -c $Configuration -r $rid --self-contained false -o $publish -nologo -v quiet
    }
    if (Test-Path $moduleDir) { Remove-Item $moduleDir -Recurse -Force }
    New-Item -ItemType Directory $moduleDir | Out-Null

    # Allow-list: our assemblies, their managed dependencies, and the native ONNX Runtime libraries of this platform.
    $allow = @(
        'StableDiffusion.dll', 'StableDiffusion.PowerShell.dll', 'StableDiffusion.Format.ps1xml',
        'Microsoft.ML.OnnxRuntime.dll', 'Microsoft.ML.Tokenizers.dll', 'SixLabors.ImageSharp.dll',
        'System.Numerics.Tensors.dll', 'Google.Protobuf.dll', 'Microsoft.Bcl.*.dll'
    )
    # Native libraries of this platform only (the GPU package brings Windows and Linux builds alike).
    $allow += if ($IsWindows) { 'onnxruntime*.dll' } elseif ($IsMacOS) { 'libonnxruntime*.dylib' } else { 'libonnxruntime*.so' }
    foreach ($pattern in $allow) {
        Get-ChildItem $publish -Filter $pattern -File | Copy-Item -Destination $moduleDir
    }
    Copy-Item (Join-Path $root 'StableDiffusion.psd1') $moduleDir
    foreach ($required in 'StableDiffusion.dll', 'StableDiffusion.PowerShell.dll', 'Microsoft.ML.OnnxRuntime.dll') {
        if (-not (Test-Path (Join-Path $moduleDir $required))) { throw "The module layout lacks $required." }
    }
    if (-not (Get-ChildItem $moduleDir -File | Where-Object Name -like '*onnxruntime*' | Where-Object Name -notlike 'Microsoft.*')) {
        throw "No native ONNX Runtime library for $rid was laid out."
    }
    # Help: MAML from docs/help (built in a fresh pwsh, which loads the module), plus the about topic.
    $helpDir = Join-Path $moduleDir 'en-US'
    Invoke-FreshPwsh -NoProfile -NonInteractive -File (Join-Path $root 'tools/New-MamlHelp.ps1') -ModulePath (Join-Path $moduleDir 'StableDiffusion.psd1') `
        -SourceDirectory (Join-Path $root 'docs/help') -OutputFile (Join-Path $helpDir 'StableDiffusion.PowerShell.dll-Help.xml')
    if ($LASTEXITCODE -ne 0) { throw 'Building the help failed.' }
    Copy-Item (Join-Path $root 'docs/help/about_StableDiffusion.help.txt') $helpDir
    Write-Host "Module laid out at $moduleDir"
}

function Get-PesterPath {
    $packages = (dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', ''
    $psd1 = Join-Path $packages.Trim() 'pester' '5.7.1' 'tools' 'Pester.psd1'
    if (-not (Test-Path $psd1)) { throw "Pester 5.7.1 is not in the NuGet cache ($psd1); run 'dotnet restore tests/StableDiffusion.Tests'." }
    $psd1
}

function Invoke-Tests {
    $results = Join-Path $out 'test-results'
    if (Test-Path $results) { Remove-Item $results -Recurse -Force }
    New-Item -ItemType Directory $results | Out-Null

    # xunit: the library against ../shared/fixtures.
    $trx = 'xunit.trx'
    dotnet test (Join-Path $root 'tests/StableDiffusion.Tests/StableDiffusion.Tests.csproj') -c $Configuration -nologo `
        --logger "trx;LogFileName=$trx" --logger 'console;verbosity=normal' --results-directory $results
    $xunitExit = $LASTEXITCODE
    $xunitPassed = 0; $xunitFailed = 0
    $trxPath = Join-Path $results $trx
    if (Test-Path $trxPath) {
        $counters = ([xml](Get-Content $trxPath -Raw)).TestRun.ResultSummary.Counters
        $xunitPassed = [int]$counters.passed
        $xunitFailed = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
    }
    elseif ($xunitExit -ne 0) { $xunitFailed = 1 }   # the build or the run broke before any result: count it
    if ($xunitExit -ne 0 -and $xunitFailed -eq 0) { $xunitFailed = 1 }

    # Pester: the cmdlets through the built module, in a fresh pwsh (a binary module cannot be unloaded).
    $pester = Get-PesterPath
    $summary = Join-Path $results 'pester.json'
    $script = @"
Import-Module '$pester' -RequiredVersion 5.7.1 -ErrorAction Stop
`$config = New-PesterConfiguration
`$config.Run.Path = '$(Join-Path $root 'tests')'
`$config.Run.PassThru = `$true
`$config.Output.Verbosity = 'Detailed'
`$config.Output.RenderMode = 'Plaintext'
`$config.TestResult.Enabled = `$true
`$config.TestResult.OutputPath = '$(Join-Path $results 'pester.xml')'
`$r = Invoke-Pester -Configuration `$config
@{ Passed = `$r.PassedCount; Failed = `$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount; Skipped = `$r.SkippedCount } | ConvertTo-Json | Set-Content '$summary'
"@
    Invoke-FreshPwsh -NoProfile -NonInteractive -Command $script
    $pesterPassed = 0; $pesterFailed = 1
    if (Test-Path $summary) {
        $s = Get-Content $summary -Raw | ConvertFrom-Json
        $pesterPassed = [int]$s.Passed; $pesterFailed = [int]$s.Failed
    }

    $passed = $xunitPassed + $pesterPassed
    $failed = $xunitFailed + $pesterFailed
    Write-Host "xunit: $xunitPassed passed, $xunitFailed failed; Pester: $pesterPassed passed, $pesterFailed failed"
    Write-Host "$passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Demo {
    $png = Join-Path $out 'demo.png'
    $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$moduleDir'
`$p = New-SdPipeline -Path '$ModelPath' -ExecutionProvider Auto -WarningAction SilentlyContinue
`$p | Invoke-SdGeneration -Prompt 'a photo of a cat' -Seed 0 -Steps 20 -Width 64 -Height 64 |
    Save-SdImage -Path '$png' -Force -PassThru | Format-Table Name, Length, LastWriteTime
`$p.Dispose()
"@
    Invoke-FreshPwsh -NoProfile -NonInteractive -Command $script
    if ($LASTEXITCODE -ne 0) { throw 'The demo generation failed.' }
    Write-Host "Wrote $png"
}

foreach ($t in $Task) {
    switch ($t) {
        'Clean' { Invoke-Clean }
        'Build' { Invoke-BuildModule }
        'Test' { Invoke-BuildModule; Invoke-Tests }
        'Demo' { Invoke-BuildModule; Invoke-Demo }
    }
}
