# Shared setup for the Pester tests: the built module and the fixtures (which must exist: tests fail, never skip, without them).
$script:RepoRoot = Split-Path $PSScriptRoot -Parent

function Get-SdTestModulePath {
    $path = Join-Path $script:RepoRoot 'out' 'StableDiffusion' 'StableDiffusion.psd1'
    if (-not (Test-Path $path)) { throw "The module is not built: $path is missing. Run 'dotnet pwsh ./build.ps1' first." }
    $path
}

# Runs a fresh pwsh like the current one (the local dotnet tool runs as 'dotnet pwsh.dll').
function Invoke-SdFreshPwsh {
    $hostPath = [Environment]::ProcessPath
    if ([System.IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { & $hostPath (Join-Path $PSHOME 'pwsh.dll') @args }
    else { & $hostPath @args }
}

function Get-SdFixturePath([string] $Name = 'tiny-sd') {
    $path = [System.IO.Path]::GetFullPath((Join-Path $script:RepoRoot '..' 'shared' 'fixtures' $Name))
    if (-not (Test-Path (Join-Path $path 'model_index.json'))) {
        throw "The reference fixtures are missing: $path (../shared/fixtures beside the repository)."
    }
    $path
}

function Get-SdExpectedPath([string[]] $Parts) {
    Join-Path (Get-SdFixturePath) 'expected' @Parts
}

# Largest per-channel difference between two PNG files (or an image object and a file).
function Get-SdPixelDifference($Expected, $Actual) {
    $load = { param($x) if ($x -is [string]) { [SixLabors.ImageSharp.Image]::Load[SixLabors.ImageSharp.PixelFormats.Rgb24]($x) } else { $x.Clone() } }
    $a = & $load $Expected
    $b = & $load $Actual
    try {
        if ($a.Width -ne $b.Width -or $a.Height -ne $b.Height) { return [int]::MaxValue }
        $worst = 0
        for ($y = 0; $y -lt $a.Height; $y++) {
            for ($x = 0; $x -lt $a.Width; $x++) {
                $p = $a[$x, $y]; $q = $b[$x, $y]
                $worst = [Math]::Max($worst, [Math]::Max([Math]::Abs($p.R - $q.R), [Math]::Max([Math]::Abs($p.G - $q.G), [Math]::Abs($p.B - $q.B))))
            }
        }
        $worst
    }
    finally { $a.Dispose(); $b.Dispose() }
}

# A copy of the fixture model folder that a test may break (symbolic links where a component is kept as is).
function New-SdBrokenModel([string] $Destination, [string[]] $Without = @(), [string[]] $Corrupt = @()) {
    $source = Get-SdFixturePath
    New-Item -ItemType Directory $Destination -Force | Out-Null
    foreach ($item in Get-ChildItem $source) {
        if ($item.Name -eq 'expected' -or $item.Name -in $Without) { continue }
        if ($item.Name -in $Corrupt) {
            New-Item -ItemType Directory (Join-Path $Destination $item.Name) | Out-Null
            [System.IO.File]::WriteAllBytes((Join-Path $Destination $item.Name 'model.onnx'), [byte[]](1..200 | ForEach-Object { $_ % 7 }))
            continue
        }
        New-Item -ItemType SymbolicLink -Path (Join-Path $Destination $item.Name) -Target $item.FullName | Out-Null
    }
    $Destination
}

# Runs a command that must write exactly one error (non-terminating errors included, whatever the caller's preference)
# and returns it with the command's output.
function Get-SdError([scriptblock] $Command) {
    $ErrorActionPreference = 'Continue'
    $errors = [System.Collections.Generic.List[object]]::new()
    $out = @(& $Command 2>&1 | ForEach-Object { if ($_ -is [System.Management.Automation.ErrorRecord]) { $errors.Add($_) } else { $_ } })
    $errors.Count | Should -Be 1 -Because 'exactly one error is expected'
    [pscustomobject]@{ Error = $errors[0]; Output = $out }
}

Export-ModuleMember -Function Invoke-SdFreshPwsh, Get-SdTestModulePath, Get-SdFixturePath, Get-SdExpectedPath, Get-SdPixelDifference, New-SdBrokenModel, Get-SdError
