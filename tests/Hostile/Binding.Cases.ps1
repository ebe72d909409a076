# Hostile cases for pipeline-input binding and the memory pre-flight (tests/Hostile.Tests.ps1 runs them): a piped row
# whose cell does not convert, a row without a usable Prompt, and sizes or batches that cannot fit in memory. Each must
# be a specific error before any image work, with the row (or the image request) as target.

# A fast row (64×64, 2 steps) as Import-Csv gives it, with one cell replaced or added.
function global:New-SdHostileRow([hashtable] $Set) {
    $row = [ordered]@{ Prompt = 'x'; Steps = '2'; Seed = '1'; Width = '64'; Height = '64' }
    foreach ($k in $Set.Keys) { $row[$k] = $Set[$k] }
    [pscustomobject]$row
}

# Rows with one bad cell: each is RowValueInvalid (InvalidData), the row itself the target.
$badCells = @(
    @{ Column = 'Steps'; Value = 'abc' }
    @{ Column = 'Steps'; Value = '2.5' }
    @{ Column = 'Steps'; Value = '99999999999' }
    @{ Column = 'Width'; Value = 'abc' }
    @{ Column = 'Height'; Value = '1.5' }
    @{ Column = 'Seed'; Value = 'abc' }
    @{ Column = 'Seed'; Value = '1.5' }
    @{ Column = 'Seed'; Value = '-3' }
    @{ Column = 'GuidanceScale'; Value = 'abc' }
    @{ Column = 'CfgScale'; Value = 'high' }
    @{ Column = 'Eta'; Value = 'x' }
    @{ Column = 'ImagesPerPrompt'; Value = '2.5' }
    @{ Column = 'Strength'; Value = 'strong' }
    @{ Column = 'MaskCropPadding'; Value = 'wide' }
    @{ Column = 'ClipSkip'; Value = 'one' }
    @{ Column = 'OutputType'; Value = 'Latnt' }
    @{ Column = 'OriginalSize'; Value = '1024x768' }
    @{ Column = 'Seed'; Value = 1.5 }      # a number, not text: still not whole
    @{ Column = 'Steps'; Value = $true }
    @{ Column = 'Width'; Value = @(64, 64) }
)
foreach ($bad in $badCells) {
    $column = $bad.Column
    $value = $bad.Value
    @{
        Name     = "piped row with $column = $(if ($value -is [string]) { "'$value'" } else { "$($value.GetType().Name) $value" })"
        ErrorId  = 'RowValueInvalid*'
        Category = 'InvalidData'
        Script   = { param($ctx) New-SdHostileRow @{ $column = $value } | Invoke-SdGeneration -Pipeline $ctx.Pipeline -ErrorAction Stop }.GetNewClosure()
        Target   = { param($target, $ctx) $target.Prompt -eq 'x' }
    }
}

@{
    Name     = "piped row with a misspelled 'Promt' column"
    ErrorId  = 'RowPromptMissing*'
    Category = 'InvalidArgument'
    Script   = { param($ctx) [pscustomobject]@{ Promt = 'a cat'; Steps = '2'; Width = '64'; Height = '64' } | Invoke-SdGeneration -Pipeline $ctx.Pipeline -ErrorAction Stop }
    Target   = { param($target, $ctx) $target.Promt -eq 'a cat' }
}

@{
    Name     = 'piped hashtable without a Prompt key'
    ErrorId  = 'RowPromptMissing*'
    Category = 'InvalidArgument'
    Script   = { param($ctx) @{ Subject = 'a cat'; Steps = 2 } | Invoke-SdGeneration -Pipeline $ctx.Pipeline -ErrorAction Stop }
    Target   = { param($target, $ctx) $target.Subject -eq 'a cat' }
}

@{
    Name     = 'piped row with an empty Prompt cell'
    ErrorId  = 'RowPromptEmpty*'
    Category = 'InvalidData'
    Script   = { param($ctx) New-SdHostileRow @{ Prompt = '' } | Invoke-SdGeneration -Pipeline $ctx.Pipeline -ErrorAction Stop }
}

@{
    Name     = 'Import-Csv file with a Steps cell that is no number'
    ErrorId  = 'RowValueInvalid*'
    Category = 'InvalidData'
    Setup    = { param($ctx) "Prompt,Steps,Width,Height`na cat,ten,64,64" | Set-Content (Join-Path $ctx.Inputs 'prompts.csv') }
    Script   = { param($ctx) Import-Csv (Join-Path $ctx.Inputs 'prompts.csv') | Invoke-SdGeneration -Pipeline $ctx.Pipeline -ErrorAction Stop }
    Target   = { param($target, $ctx) $target.Steps -eq 'ten' }
}

# Memory pre-flight: refused before any session runs, naming the CPU and the estimate.
@{
    Name     = '65536x65536 image (memory pre-flight)'
    ErrorId  = 'InsufficientMemory*'
    Category = 'ResourceUnavailable'
    Script   = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Width 65536 -Height 65536 -Steps 2 -ErrorAction Stop }
    Target   = { param($target, $ctx) $target.Prompt -eq 'x' }
}

@{
    Name     = '100000 pixels wide (memory pre-flight, not a GPU error on the CPU)'
    ErrorId  = 'InsufficientMemory*'
    Category = 'ResourceUnavailable'
    Script   = {
        param($ctx)
        try { Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Width 100000 -Height 64 -Steps 2 -ErrorAction Stop }
        catch { if ($_.Exception.Message -match 'GPU') { throw "the CPU pipeline's error names the GPU: $($_.Exception.Message)" }; throw }
    }
}

@{
    Name     = '2000 images in batches of 64 at 512x512 (memory pre-flight; batches past 64 are refused as such)'
    ErrorId  = 'InsufficientMemory*'
    Category = 'ResourceUnavailable'
    Script   = { param($ctx) Invoke-SdGeneration -Pipeline $ctx.Pipeline -Prompt 'x' -Width 512 -Height 512 -Steps 2 -ImagesPerPrompt 2000 -BatchSize 64 -ErrorAction Stop }
}
