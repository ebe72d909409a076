#requires -Version 7.4
<#
.SYNOPSIS
    Renders every prompt of a text file (one per line; blank lines and lines starting with # are skipped).
.EXAMPLE
    ./examples/prompts-from-file.ps1 -PromptFile ./my-prompts.txt -ModelPath ~/models/sd15-onnx -Seed 42
#>
[CmdletBinding()]
param(
    [string] $PromptFile = (Join-Path $PSScriptRoot 'prompts.txt'),
    [string] $ModelPath = (Join-Path $PSScriptRoot '..' '..' 'shared' 'fixtures' 'tiny-sd'),
    [string] $OutputDirectory = (Join-Path $PSScriptRoot '..' 'out' 'examples' 'prompts-from-file'),
    [long] $Seed = 42,
    [int] $Steps = 20,
    [int] $Size = 0,
    [string] $Scheduler = 'DPM++ 2M'
)
$ErrorActionPreference = 'Stop'
if (-not (Get-Module StableDiffusion)) { Import-Module (Join-Path $PSScriptRoot '..' 'out' 'StableDiffusion') }
if ($Size -eq 0) { $Size = if ((Split-Path $ModelPath -Leaf) -like 'tiny-sd*') { 64 } else { 512 } }

$sd = New-SdPipeline -Path $ModelPath | Set-SdScheduler $Scheduler
try {
    Get-Content $PromptFile |
        Where-Object { $_.Trim() -and -not $_.TrimStart().StartsWith('#') } |
        Invoke-SdGeneration -Pipeline $sd -Seed $Seed -Steps $Steps -Width $Size -Height $Size |
        Save-SdImage -Directory $OutputDirectory -NameTemplate '{index:000}-{prompt:40}-{seed}' -PassThru
}
finally { $sd.Dispose() }
