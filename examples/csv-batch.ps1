#requires -Version 7.4
<#
.SYNOPSIS
    Renders the rows of a CSV file: Prompt, and optionally NegativePrompt, Seed, Steps, GuidanceScale, Width, Height.
.DESCRIPTION
    Import-Csv objects bind to Invoke-SdGeneration by property name, so each row can carry its own settings; missing
    columns take the script's defaults. Rows are rendered in batches; a bad row reports an error and the others still run.
.EXAMPLE
    ./examples/csv-batch.ps1 -CsvPath ./batch.csv -ModelPath ~/models/sd15-onnx -BatchSize 2
#>
[CmdletBinding()]
param(
    [string] $CsvPath = (Join-Path $PSScriptRoot 'prompts.csv'),
    [string] $ModelPath = (Join-Path $PSScriptRoot '..' '..' 'shared' 'fixtures' 'tiny-sd'),
    [string] $OutputDirectory = (Join-Path $PSScriptRoot '..' 'out' 'examples' 'csv-batch'),
    [int] $BatchSize = 2,
    [int] $Size = 0
)
$ErrorActionPreference = 'Stop'
if (-not (Get-Module StableDiffusion)) { Import-Module (Join-Path $PSScriptRoot '..' 'out' 'StableDiffusion') }
if ($Size -eq 0) { $Size = if ((Split-Path $ModelPath -Leaf) -like 'tiny-sd*') { 64 } else { 512 } }

$sd = New-SdPipeline -Path $ModelPath
try {
    Import-Csv $CsvPath |
        Invoke-SdGeneration -Pipeline $sd -Width $Size -Height $Size -BatchSize $BatchSize -ErrorAction Continue |
        Save-SdImage -Directory $OutputDirectory -NameTemplate '{index:000}-{seed}-{prompt:30}' -PassThru
}
finally { $sd.Dispose() }
